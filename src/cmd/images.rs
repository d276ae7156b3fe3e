//! `images`, `rmi`, `tag`, `history`, `inspect`, `image prune`: docker's flags and columns.
use anyhow::{Result, bail};
use berth_engine::api::{ContainerBackend, ImageListOptions, ImageSummary, RemovedImage};
use clap::Args;

use crate::format::{Table, ago, human_size};
use crate::template::{IMAGES, IMAGES_WITH_DIGESTS, Row, format_list};

#[derive(Args, Debug, Default)]
pub struct ImagesArgs {
    /// Show all images (default hides intermediate images)
    #[arg(short, long)]
    pub all: bool,
    /// Only show image IDs
    #[arg(short, long)]
    pub quiet: bool,
    /// Show digests
    #[arg(long)]
    pub digests: bool,
    /// Don't truncate output
    #[arg(long)]
    pub no_trunc: bool,
    /// Filter output based on conditions provided (dangling=true|false, reference=PATTERN)
    #[arg(short, long)]
    pub filter: Vec<String>,
    /// Format output: "json", "table [TEMPLATE]", or a Go-style template ({{.Repository}}:{{.Tag}})
    #[arg(long)]
    pub format: Option<String>,
    /// Show images whose repository matches
    pub repository: Option<String>,
}

#[derive(Args, Debug)]
pub struct RmiArgs {
    /// Force removal of the image
    #[arg(short, long)]
    pub force: bool,
    #[arg(required = true, value_name = "IMAGE")]
    pub images: Vec<String>,
}

#[derive(Args, Debug)]
pub struct TagArgs {
    pub source: String,
    pub target: String,
}

#[derive(Args, Debug)]
pub struct HistoryArgs {
    /// Print sizes and dates in human readable format
    #[arg(short = 'H', long, default_value_t = true, action = clap::ArgAction::Set)]
    pub human: bool,
    /// Don't truncate output
    #[arg(long)]
    pub no_trunc: bool,
    /// Only show image IDs
    #[arg(short, long)]
    pub quiet: bool,
    pub image: String,
}

#[derive(Args, Debug, Clone)]
pub struct InspectArgs {
    /// Format output using a Go-style template ({{.Id}}, {{json .Config}})
    #[arg(short, long)]
    pub format: Option<String>,
    /// Only inspect objects of the given type
    #[arg(long = "type")]
    pub kind: Option<String>,
    #[arg(required = true, value_name = "NAME")]
    pub names: Vec<String>,
}

#[derive(Args, Debug)]
pub struct PruneArgs {
    /// Remove all unused images, not just dangling ones
    #[arg(short, long)]
    pub all: bool,
    /// Do not prompt for confirmation
    #[arg(short, long)]
    pub force: bool,
}

fn parse_filters(filters: &[String]) -> Result<ImageListOptions> {
    let mut o = ImageListOptions::default();
    for f in filters {
        let Some((k, v)) = f.split_once('=') else { bail!("bad format of filter (expected name=value): {f:?}") };
        match k {
            "dangling" => match v {
                "true" | "1" => o.dangling = Some(true),
                "false" | "0" => o.dangling = Some(false),
                _ => bail!("invalid filter 'dangling={v}'"),
            },
            "reference" => o.reference.push(v.to_string()),
            _ => bail!("invalid filter {k:?}"),
        }
    }
    Ok(o)
}

fn short_id(id: &str, no_trunc: bool) -> String {
    if no_trunc { id.to_string() } else { id.trim_start_matches("sha256:").chars().take(12).collect() }
}

fn split_repo_tag(n: &str) -> (String, String) {
    let slash = n.rfind('/').map(|x| x + 1).unwrap_or(0);
    match n[slash..].rfind(':') {
        Some(c) => (n[..slash + c].to_string(), n[slash + c + 1..].to_string()),
        None => (n.to_string(), "<none>".into()),
    }
}

/// An image's (repository, tag) pairs as the list shows them: one per tag, else its
/// digest's repository or `<none>`.
fn names_of(i: &ImageSummary) -> Vec<(String, String)> {
    if i.repo_tags.is_empty() {
        match i.repo_digests.first() {
            Some(d) => vec![(d.split('@').next().unwrap_or("<none>").to_string(), "<none>".into())],
            None => vec![("<none>".into(), "<none>".into())],
        }
    } else {
        i.repo_tags.iter().map(|n| split_repo_tag(n)).collect()
    }
}

/// The digest of `repo` in the image's repo digests, or `<none>`.
fn digest_for<'a>(i: &'a ImageSummary, repo: &str) -> &'a str {
    i.repo_digests.iter().find(|d| d.split('@').next() == Some(repo)).and_then(|d| d.split('@').nth(1)).unwrap_or("<none>")
}

/// An image's rows as `images --format` sees them: docker's keys, in its (sorted) order.
/// The counts docker leaves out of a plain list are "N/A" there too.
fn image_rows(i: &ImageSummary, no_trunc: bool) -> Vec<serde_json::Value> {
    names_of(i)
        .into_iter()
        .map(|(repo, tag)| {
            serde_json::json!({
                "Containers": "N/A",
                "CreatedAt": chrono::DateTime::from_timestamp(i.created, 0).map(|t| t.format("%Y-%m-%d %H:%M:%S +0000 UTC").to_string()).unwrap_or_default(),
                "CreatedSince": ago(i.created),
                "Digest": digest_for(i, &repo),
                "ID": short_id(&i.id, no_trunc),
                "Repository": repo,
                "SharedSize": "N/A",
                "Size": human_size(i.size),
                "Tag": tag,
                "UniqueSize": "N/A",
                "VirtualSize": human_size(i.size),
            })
        })
        .collect()
}

pub async fn images(engine: &dyn ContainerBackend, a: &ImagesArgs) -> Result<u8> {
    let mut opts = parse_filters(&a.filter)?;
    opts.all = a.all;
    if let Some(r) = &a.repository {
        opts.reference.push(r.clone());
    }
    let list = engine.list_images(&opts).await?;
    if a.quiet {
        let mut seen = std::collections::HashSet::new();
        for i in &list {
            if seen.insert(&i.id) {
                println!("{}", short_id(&i.id, a.no_trunc));
            }
        }
        return Ok(0);
    }
    if let Some(f) = &a.format {
        let fields: Vec<serde_json::Value> = list.iter().flat_map(|i| image_rows(i, a.no_trunc)).collect();
        let rows: Vec<Row> = fields.iter().map(|f| Row::new(f, None)).collect();
        let kind = if a.digests { &IMAGES_WITH_DIGESTS } else { &IMAGES };
        print!("{}", format_list(Some(f), kind, &rows)?);
        return Ok(0);
    }
    let mut header = vec!["REPOSITORY", "TAG"];
    if a.digests {
        header.push("DIGEST");
    }
    header.extend(["IMAGE ID", "CREATED", "SIZE"]);
    let mut t = Table::new(&header);
    for i in &list {
        for (repo, tag) in names_of(i) {
            let mut row = vec![repo.clone(), tag];
            if a.digests {
                row.push(digest_for(i, &repo).to_string());
            }
            row.extend([short_id(&i.id, a.no_trunc), ago(i.created), human_size(i.size)]);
            t.row(row);
        }
    }
    print!("{}", t.render());
    Ok(0)
}

pub async fn rmi(engine: &dyn ContainerBackend, a: &RmiArgs) -> Result<u8> {
    let mut code = 0;
    for name in &a.images {
        match engine.remove_image(name, a.force).await {
            Ok(items) => print_removed(&items),
            Err(e) => {
                eprintln!("Error: {e}");
                code = 1;
            }
        }
    }
    Ok(code)
}

fn print_removed(items: &[RemovedImage]) {
    for r in items {
        match r {
            RemovedImage::Untagged(t) => println!("Untagged: {t}"),
            RemovedImage::Deleted(d) => println!("Deleted: {d}"),
        }
    }
}

pub async fn tag(engine: &dyn ContainerBackend, a: &TagArgs) -> Result<u8> {
    engine.tag_image(&a.source, &a.target).await?;
    Ok(0)
}

pub async fn history(engine: &dyn ContainerBackend, a: &HistoryArgs) -> Result<u8> {
    let h = engine.image_history(&a.image).await?;
    if a.quiet {
        for i in &h {
            println!("{}", if i.id == "<missing>" { i.id.clone() } else { short_id(&i.id, a.no_trunc) });
        }
        return Ok(0);
    }
    let mut t = Table::new(&["IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT"]);
    for i in &h {
        let id = if i.id == "<missing>" { i.id.clone() } else { short_id(&i.id, a.no_trunc) };
        let by = i.created_by.replace('\n', " ");
        let by = if a.no_trunc || by.chars().count() <= 45 { by } else { format!("{}…", by.chars().take(44).collect::<String>()) };
        let created = if a.human {
            ago(i.created)
        } else {
            chrono::DateTime::from_timestamp(i.created, 0).map(|t| t.to_rfc3339()).unwrap_or_default()
        };
        let size = if a.human { human_size(i.size) } else { i.size.to_string() };
        t.row(vec![id, created, by, size, i.comment.clone()]);
    }
    print!("{}", t.render());
    Ok(0)
}

pub async fn inspect(engine: &dyn ContainerBackend, a: &InspectArgs) -> Result<u8> {
    if let Some(k) = &a.kind
        && k != "image"
    {
        bail!("unsupported --type {k:?} (images only for now)");
    }
    let mut out = Vec::new();
    let mut code = 0;
    for n in &a.names {
        match engine.inspect_image(n).await {
            Ok(i) => out.push(serde_json::to_value(i)?),
            Err(e) => {
                eprintln!("Error: {e}");
                code = 1;
            }
        }
    }
    crate::format::print_inspected(&out, a.format.as_deref())?;
    Ok(code)
}

pub async fn prune(engine: &dyn ContainerBackend, a: &PruneArgs) -> Result<u8> {
    let _ = a.force;
    let r = engine.prune_images(a.all).await?;
    if !r.removed.is_empty() {
        println!("Deleted Images:");
        print_removed(&r.removed);
        println!();
    }
    println!("Total reclaimed space: {}", human_size(r.space_reclaimed));
    Ok(0)
}
