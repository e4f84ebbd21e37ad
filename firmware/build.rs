//! Puts `memory.x` where aarch32-rt's `link.x` looks for it, and turns the
//! network settings into constants (`net_config.rs`, see `src/net.rs`).
//!
//! The board's static IPv4 configuration is fixed at build time; each
//! setting has a default that suits QEMU's user network and can be
//! overridden from the environment (a bad value fails the build, naming
//! the variable):
//!
//! | variable           | default             |
//! |--------------------|---------------------|
//! | `ZEST_NET_ADDR`    | `10.0.2.15/24` (`zest_proto::DEFAULT_UDP_ENDPOINT`) |
//! | `ZEST_NET_GATEWAY` | `10.0.2.2` (`zest_proto::DEFAULT_GATEWAY`) |
//! | `ZEST_NET_PORT`    | `7777` (`zest_proto::DEFAULT_UDP_ENDPOINT`) |
//! | `ZEST_NET_MAC`     | `02:7a:65:73:74:01` (locally administered) |
use std::{env, fs, net::Ipv4Addr, path::PathBuf};

fn setting(name: &str, default: &str) -> String {
    println!("cargo:rerun-if-env-changed={name}");
    env::var(name).unwrap_or_else(|_| default.to_string())
}

fn fail(name: &str, value: &str, why: &str) -> ! {
    panic!("{name}={value:?}: {why}");
}

fn ip(name: &str, value: &str) -> [u8; 4] {
    value
        .parse::<Ipv4Addr>()
        .unwrap_or_else(|_| fail(name, value, "not an IPv4 address like 10.0.2.15"))
        .octets()
}

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    fs::copy("memory.x", out.join("memory.x")).expect("copy memory.x");
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed=memory.x");

    let d = zest_proto::DEFAULT_UDP_ENDPOINT;
    let addr = setting(
        "ZEST_NET_ADDR",
        &format!("{}/{}", Ipv4Addr::from(d.addr), d.prefix_len),
    );
    let (a, prefix) = addr.split_once('/').unwrap_or_else(|| {
        fail(
            "ZEST_NET_ADDR",
            &addr,
            "expected ADDRESS/PREFIX, e.g. 10.0.2.15/24",
        )
    });
    let a = ip("ZEST_NET_ADDR", a);
    let prefix: u8 = match prefix.parse() {
        Ok(p) if (1..=30).contains(&p) => p,
        _ => fail("ZEST_NET_ADDR", &addr, "prefix length must be 1..30"),
    };
    let gw_s = setting(
        "ZEST_NET_GATEWAY",
        &Ipv4Addr::from(zest_proto::DEFAULT_GATEWAY).to_string(),
    );
    let gw = ip("ZEST_NET_GATEWAY", &gw_s);
    let port_s = setting("ZEST_NET_PORT", &d.port.to_string());
    let port: u16 = match port_s.parse() {
        Ok(p) if p > 0 => p,
        _ => fail("ZEST_NET_PORT", &port_s, "not a UDP port in 1..65535"),
    };
    let mac_s = setting("ZEST_NET_MAC", "02:7a:65:73:74:01");
    let mac: Vec<u8> = mac_s
        .split(':')
        .map(|h| u8::from_str_radix(h, 16))
        .collect::<Result<_, _>>()
        .unwrap_or_else(|_| fail("ZEST_NET_MAC", &mac_s, "expected six hex bytes a:b:c:d:e:f"));
    if mac.len() != 6 || mac[0] & 1 != 0 {
        fail(
            "ZEST_NET_MAC",
            &mac_s,
            "expected six bytes of a unicast MAC address",
        );
    }
    let code = format!(
        "/// IPv4 address (`ZEST_NET_ADDR`).\npub const ADDR: [u8; 4] = {a:?};\n\
         /// Prefix length (`ZEST_NET_ADDR`).\npub const PREFIX_LEN: u8 = {prefix};\n\
         /// Default gateway (`ZEST_NET_GATEWAY`).\npub const GATEWAY: [u8; 4] = {gw:?};\n\
         /// UDP port served (`ZEST_NET_PORT`).\npub const PORT: u16 = {port};\n\
         /// MAC address (`ZEST_NET_MAC`).\npub const MAC: [u8; 6] = {mac:?};\n"
    );
    fs::write(out.join("net_config.rs"), code).expect("write net_config.rs");
}
