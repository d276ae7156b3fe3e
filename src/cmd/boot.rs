//! `berth system boot` (bring containers back after a reboot; see the engine's
//! `local::boot`) and `berth system install-boot-unit` (the systemd unit that runs it).
use std::path::PathBuf;

use anyhow::{Context, Result};
use berth_engine::local::{BootAction, LocalEngine};
use clap::Args;

/// The unit shipped in assets/, as installed.
pub const UNIT: &str = include_str!("../../assets/berth-boot.service");
pub const UNIT_NAME: &str = "berth-boot.service";
/// The binary the unit runs.
const UNIT_EXE: &str = "/usr/local/bin/berth";

#[derive(Args, Debug)]
pub struct InstallBootUnitArgs {
    /// Directory to write the unit into
    #[arg(long, default_value = "/etc/systemd/system")]
    pub dir: PathBuf,
}

/// One line per container acted on; exit 1 if a start failed.
pub async fn boot(engine: &LocalEngine) -> Result<u8> {
    let items = engine.boot().await?;
    let mut code = 0;
    for it in items {
        let short = &it.id[..12.min(it.id.len())];
        match it.action {
            BootAction::Started => println!("started {} ({short})", it.name),
            BootAction::Cleaned => println!("cleaned {} ({short}): left stopped", it.name),
            BootAction::Removed => println!("removed {} ({short}): --rm", it.name),
            BootAction::Failed(e) => {
                eprintln!("Error: starting {} ({short}): {e}", it.name);
                code = 1;
            }
        }
    }
    Ok(code)
}

pub fn install_unit(a: &InstallBootUnitArgs) -> Result<u8> {
    let path = a.dir.join(UNIT_NAME);
    if !a.dir.is_dir() {
        anyhow::bail!("{} is not a directory (is systemd installed?)", a.dir.display());
    }
    if std::fs::read_to_string(&path).is_ok_and(|t| t == UNIT) {
        println!("{} is up to date", path.display());
    } else {
        let tmp = a.dir.join(format!(".{UNIT_NAME}.tmp"));
        std::fs::write(&tmp, UNIT).with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, &path).with_context(|| format!("writing {}", path.display()))?;
        println!("wrote {}", path.display());
    }
    if !std::path::Path::new(UNIT_EXE).exists() {
        println!("note: the unit runs {UNIT_EXE}, which does not exist yet: install -m 755 target/release/berth {UNIT_EXE}");
    }
    println!("enable it with: systemctl daemon-reload && systemctl enable {UNIT_NAME}");
    Ok(0)
}
