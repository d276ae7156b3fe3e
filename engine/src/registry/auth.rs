//! Registry credentials in docker's `config.json` format (`{"auths":{"host":{"auth":
//! base64("user:pass")}}}`), so a user's existing `docker login` works for berth too.
//! berth's own file (`$BERTH_CONFIG_DIR/config.json`, else `$XDG_CONFIG_HOME/berth/`,
//! else `~/.config/berth/`) is read first, then docker's (`$DOCKER_CONFIG/config.json`
//! or `~/.docker/config.json`). berth only ever writes its own file: atomically, mode 0600.
//! Credential helpers (`credsStore`) are not consulted.
use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Map, Value};

use crate::api::Credentials;
use crate::error::IoResultExt;
use crate::error::{EngineError, Result};
use crate::image::reference::{DEFAULT_REGISTRY, is_loopback_registry};

/// The key docker uses for Docker Hub.
pub const DOCKER_HUB_KEY: &str = "https://index.docker.io/v1/";

fn home() -> Option<PathBuf> {
    std::env::var_os("HOME").filter(|h| !h.is_empty()).map(PathBuf::from)
}

/// berth's credentials file.
pub fn config_path() -> PathBuf {
    if let Some(d) = std::env::var_os("BERTH_CONFIG_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(d).join("config.json");
    }
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| home().map(|h| h.join(".config")))
        .unwrap_or_else(|| PathBuf::from("/root/.config"));
    base.join("berth").join("config.json")
}

/// docker's credentials file, read as a fallback.
pub fn docker_config_path() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("DOCKER_CONFIG").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(d).join("config.json"));
    }
    home().map(|h| h.join(".docker").join("config.json"))
}

/// `https://index.docker.io/v1/`, `http://127.0.0.1:5000/`, `127.0.0.1:5000` → the
/// registry as our references name it (`docker.io`, `127.0.0.1:5000`).
pub fn normalize_server(s: &str) -> String {
    let s = s.trim();
    let s = s.strip_prefix("https://").or_else(|| s.strip_prefix("http://")).unwrap_or(s);
    let host = s.split('/').next().unwrap_or(s).to_ascii_lowercase();
    match host.as_str() {
        "" | "docker.io" | "index.docker.io" | "registry-1.docker.io" | "registry.hub.docker.com" => DEFAULT_REGISTRY.to_string(),
        _ => host,
    }
}

/// The key under `auths` berth writes for a registry (docker's own spelling for Docker Hub).
pub fn file_key(registry: &str) -> String {
    let r = normalize_server(registry);
    if r == DEFAULT_REGISTRY { DOCKER_HUB_KEY.to_string() } else { r }
}

fn read_json(path: &Path) -> Result<Option<Map<String, Value>>> {
    match fs::read(path) {
        Ok(b) if b.iter().all(u8::is_ascii_whitespace) => Ok(Some(Map::new())),
        Ok(b) => match serde_json::from_slice::<Value>(&b) {
            Ok(Value::Object(m)) => Ok(Some(m)),
            _ => Err(EngineError::Other(format!("{}: not a valid credentials file (expected a JSON object)", path.display()))),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(EngineError::io(path, e)),
    }
}

fn entry_creds(v: &Value) -> Option<Credentials> {
    if let Some(a) = v.get("auth").and_then(Value::as_str).filter(|a| !a.is_empty()) {
        let raw = B64.decode(a.trim()).ok()?;
        let s = String::from_utf8(raw).ok()?;
        let (u, p) = s.split_once(':')?;
        return Some(Credentials { username: u.to_string(), password: p.to_string() });
    }
    let u = v.get("username").and_then(Value::as_str)?;
    let p = v.get("password").and_then(Value::as_str)?;
    Some(Credentials { username: u.to_string(), password: p.to_string() })
}

fn find_in(path: &Path, registry: &str) -> Option<Credentials> {
    let m = read_json(path).ok()??;
    let auths = m.get("auths")?.as_object()?;
    let want = normalize_server(registry);
    auths.iter().find(|(k, _)| normalize_server(k) == want).and_then(|(_, v)| entry_creds(v))
}

/// Credentials stored for `registry` (berth's file first, then docker's).
pub fn lookup(registry: &str) -> Option<Credentials> {
    find_in(&config_path(), registry).or_else(|| docker_config_path().and_then(|p| find_in(&p, registry)))
}

fn write_atomic(path: &Path, m: &Map<String, Value>) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    if !dir.exists() {
        fs::create_dir_all(dir).at(dir)?;
        let _ = fs::set_permissions(dir, fs::Permissions::from_mode(0o700));
    }
    let tmp = dir.join(format!(".config.json.{}.tmp", std::process::id()));
    let res = (|| -> std::io::Result<()> {
        let mut f = fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&tmp)?;
        f.set_permissions(fs::Permissions::from_mode(0o600))?;
        let mut body = serde_json::to_vec_pretty(&Value::Object(m.clone())).map_err(std::io::Error::other)?;
        body.push(b'\n');
        f.write_all(&body)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if res.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    res.at(path)
}

/// Save credentials for `registry` in berth's file. Returns the file written.
pub fn store(registry: &str, creds: &Credentials) -> Result<PathBuf> {
    let path = config_path();
    let mut m = read_json(&path)?.unwrap_or_default();
    let want = normalize_server(registry);
    let auths = m.entry("auths").or_insert_with(|| Value::Object(Map::new()));
    if !auths.is_object() {
        *auths = Value::Object(Map::new());
    }
    let auths = auths.as_object_mut().expect("object");
    auths.retain(|k, _| normalize_server(k) != want);
    let token = B64.encode(format!("{}:{}", creds.username, creds.password));
    auths.insert(file_key(registry), serde_json::json!({ "auth": token }));
    write_atomic(&path, &m)?;
    Ok(path)
}

/// Forget credentials for `registry` in berth's file. Returns whether any were there.
pub fn remove(registry: &str) -> Result<bool> {
    let path = config_path();
    let Some(mut m) = read_json(&path)? else { return Ok(false) };
    let want = normalize_server(registry);
    let Some(auths) = m.get_mut("auths").and_then(Value::as_object_mut) else { return Ok(false) };
    let before = auths.len();
    auths.retain(|k, _| normalize_server(k) != want);
    if auths.len() == before {
        return Ok(false);
    }
    write_atomic(&path, &m)?;
    Ok(true)
}

/// The host that serves a registry's API (Docker Hub's differs from its name).
fn api_host(registry: &str) -> String {
    let r = normalize_server(registry);
    if r == DEFAULT_REGISTRY { "registry-1.docker.io".to_string() } else { r }
}

/// One `key="value"` parameter of a `WWW-Authenticate` challenge.
fn challenge_param(h: &str, key: &str) -> Option<String> {
    let i = h.to_ascii_lowercase().find(&format!("{key}="))?;
    let rest = &h[i + key.len() + 1..];
    if let Some(r) = rest.strip_prefix('"') {
        r.split('"').next().map(String::from)
    } else {
        rest.split(',').next().map(|s| s.trim().to_string())
    }
}

/// Verify `creds` against `registry` as `docker login` does: `GET /v2/` and answer its
/// challenge (Basic: the same request with the credentials; Bearer: a token request).
pub async fn check_login(registry: &str, creds: &Credentials) -> Result<String> {
    let host = api_host(registry);
    let scheme = if is_loopback_registry(&host) { "http" } else { "https" };
    let url = format!("{scheme}://{host}/v2/");
    let reg = normalize_server(registry);
    let fail = |message: String| EngineError::Registry { registry: reg.clone(), message };
    let client = reqwest::Client::builder()
        .user_agent(concat!("berth/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(std::time::Duration::from_secs(30))
        .timeout(std::time::Duration::from_secs(60))
        .build()
        .map_err(|e| fail(format!("cannot create an HTTP client: {e}")))?;
    let net = |e: reqwest::Error| {
        let mut cause: &dyn std::error::Error = &e;
        while let Some(n) = cause.source() {
            cause = n;
        }
        fail(if e.is_connect() { format!("cannot connect: {cause}") } else { format!("request failed: {cause}") })
    };
    let res = client.get(&url).send().await.map_err(net)?;
    let status = res.status();
    if status.is_success() {
        return Ok("Login Succeeded".into());
    }
    if status.as_u16() != 401 {
        return Err(fail(format!("login attempt to {url} failed with status: {status}")));
    }
    let challenge = res.headers().get("www-authenticate").and_then(|h| h.to_str().ok()).unwrap_or("").to_string();
    let res = if challenge.to_ascii_lowercase().starts_with("bearer") {
        let realm = challenge_param(&challenge, "realm").ok_or_else(|| fail(format!("bad authentication challenge {challenge:?}")))?;
        let mut q = vec![("account", creds.username.clone()), ("client_id", "berth".to_string())];
        if let Some(s) = challenge_param(&challenge, "service") {
            q.push(("service", s));
        }
        client.get(&realm).query(&q).basic_auth(&creds.username, Some(&creds.password)).send().await.map_err(net)?
    } else {
        client.get(&url).basic_auth(&creds.username, Some(&creds.password)).send().await.map_err(net)?
    };
    let status = res.status();
    if status.is_success() {
        Ok("Login Succeeded".into())
    } else if status.as_u16() == 401 || status.as_u16() == 403 {
        Err(fail(format!("login attempt to {url} failed with status: {status} (incorrect username or password)")))
    } else {
        Err(fail(format!("login attempt to {url} failed with status: {status}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_server_names() {
        assert_eq!(normalize_server("https://index.docker.io/v1/"), "docker.io");
        assert_eq!(normalize_server("registry-1.docker.io"), "docker.io");
        assert_eq!(normalize_server("http://127.0.0.1:5000/"), "127.0.0.1:5000");
        assert_eq!(file_key("docker.io"), DOCKER_HUB_KEY);
        assert_eq!(file_key("127.0.0.1:5000"), "127.0.0.1:5000");
    }

    #[test]
    fn reads_docker_style_entries() {
        let c = entry_creds(&serde_json::json!({"auth": B64.encode("u:p:with:colons")})).unwrap();
        assert_eq!((c.username.as_str(), c.password.as_str()), ("u", "p:with:colons"));
        assert!(entry_creds(&serde_json::json!({"auth": "!!"})).is_none());
        assert!(entry_creds(&serde_json::json!({})).is_none());
    }

    #[test]
    fn challenge_params() {
        let h = r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io""#;
        assert_eq!(challenge_param(h, "realm").as_deref(), Some("https://auth.docker.io/token"));
        assert_eq!(challenge_param(h, "service").as_deref(), Some("registry.docker.io"));
    }
}
