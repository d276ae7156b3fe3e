//! Volumes for `LocalEngine`: the trait's volume verbs over the store's volume records
//! ([`crate::store::volumes`]), with docker's shapes and errors.
use crate::api::*;
use crate::local::Inner;
use crate::store::volumes::{self as vol, VolumeRecord};

fn view(i: &Inner, r: &VolumeRecord) -> Volume {
    let secs = r.created.div_euclid(1_000_000_000);
    Volume {
        created_at: chrono::DateTime::from_timestamp(secs, 0)
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
            .unwrap_or_default(),
        driver: "local".into(),
        labels: r.labels.clone(),
        mountpoint: vol::data_dir(&i.root, &r.name).display().to_string(),
        name: r.name.clone(),
        options: Default::default(),
        scope: "local".into(),
        users: None,
    }
}

pub(crate) fn list(i: &Inner, o: &VolumeListOptions) -> Result<Vec<Volume>> {
    let db = i.images.db();
    let mut out = Vec::new();
    for r in vol::list(&db)? {
        if let Some(d) = o.dangling
            && vol::users(&db, &r.name)?.is_empty() != d
        {
            continue;
        }
        let mut v = view(i, &r);
        v.users = Some(vol::user_names(&db, &r.name)?);
        out.push(v);
    }
    Ok(out)
}

pub(crate) fn create(i: &Inner, name: Option<&str>) -> Result<Volume> {
    let (name, anonymous) = match name {
        Some(n) => (n.to_string(), false),
        None => (vol::anonymous_name(), true),
    };
    let r = vol::create(&mut i.images.db(), &i.root, &name, anonymous, &Default::default())?;
    Ok(view(i, &r))
}

pub(crate) fn inspect(i: &Inner, name: &str) -> Result<Volume> {
    let r = vol::get(&i.images.db(), name)?.ok_or_else(|| EngineError::VolumeNotFound(name.to_string()))?;
    Ok(view(i, &r))
}

pub(crate) fn remove(i: &Inner, name: &str, force: bool) -> Result<()> {
    match vol::remove(&mut i.images.db(), &i.root, name) {
        Err(EngineError::VolumeNotFound(_)) if force => Ok(()),
        r => r,
    }
}

pub(crate) fn prune(i: &Inner, all: bool) -> Result<VolumePruneReport> {
    let (removed, space_reclaimed) = vol::prune(&mut i.images.db(), &i.root, all)?;
    Ok(VolumePruneReport { removed, space_reclaimed })
}
