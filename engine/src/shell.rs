//! Finding a container's shell without running anything inside it: the user's
//! /etc/passwd entry, then the usual paths. Shared by both backends.

/// Shells tried in order when /etc/passwd does not name a usable one.
pub const CANDIDATES: [&str; 4] = ["/bin/bash", "/bin/sh", "/bin/ash", "/usr/bin/bash"];

/// The login shell of `user` (name or numeric uid) in passwd text, unless it is a
/// "no login" placeholder.
pub fn from_passwd(passwd: &str, user: &str) -> Option<String> {
    let user = user.split(':').next().unwrap_or(user);
    passwd.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        if f.len() < 7 || (f[0] != user && f[2] != user) {
            return None;
        }
        let sh = f[6].trim();
        (!sh.is_empty() && !sh.ends_with("nologin") && !sh.ends_with("/false") && !sh.ends_with("/sync")).then(|| sh.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_passwd() {
        let p = "root:x:0:0:root:/root:/bin/ash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\napp:x:1000:1000::/home/app:/bin/bash\n";
        assert_eq!(from_passwd(p, "root").as_deref(), Some("/bin/ash"));
        assert_eq!(from_passwd(p, "1000").as_deref(), Some("/bin/bash"));
        assert_eq!(from_passwd(p, "app:app").as_deref(), Some("/bin/bash"));
        assert_eq!(from_passwd(p, "nobody"), None);
        assert_eq!(from_passwd(p, "ghost"), None);
    }
}
