//! Rendering reports: every command prints either its text form or, with
//! `--json`, the report the library returned as one pretty JSON object.

/// Prints `value` as pretty JSON on stdout.
pub fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// Prints `report` as JSON when `json`, else by `text`.
pub fn emit<R: serde::Serialize>(
    report: &R,
    json: bool,
    text: impl FnOnce(&R) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    if json {
        print_json(report)
    } else {
        text(report)
    }
}

/// A progress spinner on stderr (hidden when stderr is not a terminal).
pub fn spinner(message: impl Into<String>) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_message(message.into());
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    bar
}
