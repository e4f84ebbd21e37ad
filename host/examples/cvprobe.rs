fn main() {
    let root = zest::data::default_root();
    let r = zest::data::load_all(&root, |_| {}).unwrap();
    let pool: Vec<&zest::design::Design> = r.designs.iter().filter(|d| !d.realistic).collect();
    let real: Vec<&zest::design::Design> = r.designs.iter().filter(|d| d.realistic).collect();
    let mut cfg = zest::train::TrainConfig::default();
    if let Some(s) = std::env::args().nth(1) {
        cfg.max_steps = s.parse().unwrap();
    }
    let t = std::time::Instant::now();
    let rep =
        zest::eval::cross_validate(&pool, 5, &cfg, |f| eprintln!("fold {f} {:?}", t.elapsed()));
    for (n, m) in &rep.targets {
        println!("{n:>15} smape {:6.2} r2 {:6.3} n {}", m.smape, m.r2, m.n);
    }
    println!(
        "mean smape {:.2}  {:?}",
        rep.mean_smape,
        rep.training
            .iter()
            .map(|l| (l.best_step, l.steps))
            .collect::<Vec<_>>()
    );
    let (rep, model) = zest::eval::holdout("realistic", &pool, &real, &cfg);
    for d in &real {
        let p = zest::surrogate::round_targets(&model.estimate(d).targets);
        println!(
            "{:<28} pred {:?}\n{:<28} true {:?}",
            d.id,
            p.to_array(),
            "",
            d.targets.to_array()
        );
    }
    for (n, m) in &rep.targets {
        println!("{n:>15} smape {:6.2} r2 {:6.3} n {}", m.smape, m.r2, m.n);
    }
    println!("realistic mean smape {:.2}", rep.mean_smape);
}
