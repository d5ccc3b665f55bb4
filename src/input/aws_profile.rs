//! The AWS shared files, `~/.aws/credentials` and `~/.aws/config` (or
//! `AWS_SHARED_CREDENTIALS_FILE` and `AWS_CONFIG_FILE`): the profile that
//! `AWS_PROFILE` names, `default` otherwise, gives the keys, the region and
//! the endpoint that the environment leaves out.
//!
//! The files are the INI subset the AWS CLI writes: `[name]` sections
//! (`[profile name]` in the config file) of `key = value` lines, `#` and
//! `;` comments. Indented lines belong to per-service sub-sections
//! (`s3 =` then `  endpoint_url = …`) and are skipped.

use std::io;
use std::path::{Path, PathBuf};

/// What a profile sets; `None` where it is silent.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Profile {
    /// `aws_access_key_id`.
    pub access_key_id: Option<String>,
    /// `aws_secret_access_key`.
    pub secret_access_key: Option<String>,
    /// `aws_session_token`.
    pub session_token: Option<String>,
    /// `region`.
    pub region: Option<String>,
    /// `endpoint_url`.
    pub endpoint_url: Option<String>,
}

/// The profile from the shared files. Missing files are an empty profile;
/// a profile named by `AWS_PROFILE` that neither file has is an error.
///
/// # Errors
///
/// When a file exists but cannot be read, or `AWS_PROFILE` names a
/// profile neither file holds.
pub fn load() -> io::Result<Profile> {
    let named = std::env::var("AWS_PROFILE").ok().filter(|name| !name.is_empty());
    let name = named.as_deref().unwrap_or("default");
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let file = |variable: &str, default: &str| {
        std::env::var_os(variable).map(PathBuf::from).or_else(|| home.as_ref().map(|home| home.join(default)))
    };
    let credentials = file("AWS_SHARED_CREDENTIALS_FILE", ".aws/credentials");
    let config = file("AWS_CONFIG_FILE", ".aws/config");
    let mut profile = Profile::default();
    // The credentials file wins over the config file, as in the AWS CLI.
    let found_in_credentials = read_into(&mut profile, credentials.as_deref(), name)?;
    let config_section = if name == "default" { "default".to_owned() } else { format!("profile {name}") };
    let found_in_config = read_into(&mut profile, config.as_deref(), &config_section)?;
    if named.is_some() && !found_in_credentials && !found_in_config {
        let shown = |path: Option<&Path>| path.map_or("(no HOME)".to_owned(), |p| p.display().to_string());
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!(
                "AWS_PROFILE={name}: no such profile in {} or {}; add it there or unset AWS_PROFILE",
                shown(credentials.as_deref()),
                shown(config.as_deref())
            ),
        ));
    }
    Ok(profile)
}

/// Fills what `profile` lacks from `section` of the file at `path`;
/// whether the section was there.
fn read_into(profile: &mut Profile, path: Option<&Path>, section: &str) -> io::Result<bool> {
    let Some(path) = path else { return Ok(false) };
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(io::Error::new(e.kind(), format!("{}: cannot read: {e}", path.display()))),
    };
    let Some(pairs) = section_pairs(&text, section) else { return Ok(false) };
    for (key, value) in pairs {
        let slot = match key {
            "aws_access_key_id" => &mut profile.access_key_id,
            "aws_secret_access_key" => &mut profile.secret_access_key,
            "aws_session_token" => &mut profile.session_token,
            "region" => &mut profile.region,
            "endpoint_url" => &mut profile.endpoint_url,
            _ => continue,
        };
        if slot.is_none() && !value.is_empty() {
            *slot = Some(value.to_owned());
        }
    }
    Ok(true)
}

/// The top-level `key = value` pairs of `[section]`, or `None` when the
/// text has no such section.
fn section_pairs<'a>(text: &'a str, section: &str) -> Option<Vec<(&'a str, &'a str)>> {
    let mut pairs = None;
    let mut current: Option<&str> = None;
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with(['#', ';']) {
            continue;
        }
        if let Some(name) = trimmed.strip_prefix('[').and_then(|rest| rest.strip_suffix(']')) {
            current = Some(name.trim());
            if current == Some(section) {
                pairs.get_or_insert_with(Vec::new);
            }
            continue;
        }
        if current != Some(section) || line.starts_with([' ', '\t']) {
            continue;
        }
        if let (Some(pairs), Some((key, value))) = (pairs.as_mut(), trimmed.split_once('=')) {
            pairs.push((key.trim(), value.trim()));
        }
    }
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = "\
# written by aws configure
[default]
region = eu-de

[profile ops]
region=ap-southeast-1
s3 =
  endpoint_url = https://not-this-one.example
endpoint_url = https://obs.ap-southeast-1.example
; a comment
";

    #[test]
    fn a_section_gives_its_top_level_pairs_only() {
        assert_eq!(
            section_pairs(CONFIG, "profile ops").unwrap(),
            [("region", "ap-southeast-1"), ("s3", ""), ("endpoint_url", "https://obs.ap-southeast-1.example")]
        );
        assert_eq!(section_pairs(CONFIG, "default").unwrap(), [("region", "eu-de")]);
        assert_eq!(section_pairs(CONFIG, "ops"), None);
    }

    #[test]
    fn the_first_file_to_set_a_value_wins() {
        let dir = tempfile::tempdir().unwrap();
        let credentials = dir.path().join("credentials");
        std::fs::write(&credentials, "[ops]\naws_access_key_id = AKIA1\naws_secret_access_key = s3cret\nregion = x\n")
            .unwrap();
        let config = dir.path().join("config");
        std::fs::write(&config, CONFIG).unwrap();
        let mut profile = Profile::default();
        assert!(read_into(&mut profile, Some(&credentials), "ops").unwrap());
        assert!(read_into(&mut profile, Some(&config), "profile ops").unwrap());
        assert_eq!(
            profile,
            Profile {
                access_key_id: Some("AKIA1".into()),
                secret_access_key: Some("s3cret".into()),
                session_token: None,
                region: Some("x".into()),
                endpoint_url: Some("https://obs.ap-southeast-1.example".into()),
            }
        );
        assert!(!read_into(&mut profile, Some(&dir.path().join("absent")), "ops").unwrap());
    }
}
