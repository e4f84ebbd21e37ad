//! QEMU never outlives its owner, and a board that stops answering gives a
//! prompt, typed error.

use std::time::{Duration, Instant};

use zest_board::BoardError;
use zest_e2e::{boot, boot_and_connect, process_alive};

#[test]
fn qemu_is_reaped_on_drop_and_on_panic() {
    let qemu = boot("reap-drop");
    let pid = qemu.pid();
    assert!(process_alive(pid));
    drop(qemu);
    assert!(!process_alive(pid), "QEMU {pid} survived its drop");

    // A test that fails while holding QEMU still reaps it.
    let (tx, rx) = std::sync::mpsc::channel();
    let failed = std::thread::spawn(move || {
        let qemu = boot("reap-panic");
        tx.send(qemu.pid()).unwrap();
        panic!("simulated test failure");
    })
    .join();
    assert!(failed.is_err());
    let pid = rx.recv().unwrap();
    assert!(!process_alive(pid), "QEMU {pid} survived a panicking test");
}

#[test]
fn board_that_stops_answering_is_a_typed_error_not_a_hang() {
    let (mut qemu, mut board) = boot_and_connect("stops");
    board.identify().expect("first identify");
    qemu.stop();
    let start = Instant::now();
    let err = board.identify().expect_err("QEMU is gone");
    assert!(
        matches!(err, BoardError::Link { .. } | BoardError::Timeout { .. }),
        "unexpected error: {err}"
    );
    assert!(start.elapsed() < Duration::from_secs(20));
}
