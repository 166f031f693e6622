//! What a project's own settings tell the release-age check: the registry its package manager
//! downloads from (for a lockfile that records no URL), and the tool's own minimum release age,
//! which lockgate applies when it is stricter than its own. The files are those the tool reads
//! (`.npmrc`, `.yarnrc.yml`, `pnpm-workspace.yaml`, `bunfig.toml`, `pyproject.toml`, `uv.toml`),
//! nearest the lockfile first; a value that names an environment variable is not guessed.

use crate::config::parse_duration;

/// What the settings around one lockfile say.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Project {
    /// Registry base URLs: by scope (`@acme`), and for the rest (`None`).
    pub registries: Vec<(Option<String>, String)>,
    /// The tool's own minimum release age in seconds, and how to name the setting.
    pub minimum: Option<(u64, String)>,
    /// The tool's own minimum by scope (`@acme` → seconds, named), where it sets one per scope
    /// (yarn's `npmScopes.<scope>.npmMinimalAgeGate`): the scope's value wins, as in yarn.
    pub scoped_minimum: Vec<(String, (u64, String))>,
    /// Credentials `.npmrc` gives: the registry they are for (`//host/path/`), and the
    /// `Authorization` value (`Bearer …`, `Basic …`).
    pub credentials: Vec<(String, String)>,
    /// Every npm scope the settings send to a registry of its own (`@acme`), whether or not its
    /// URL could be read (`${VARIABLE}`): the names under it are the project's own.
    pub scopes: Vec<String>,
    /// Packages pinned to an index that serves only the packages pinned to it (uv's
    /// `explicit = true` index named in `[tool.uv.sources]`, poetry's `priority = "explicit"`
    /// source named by a dependency's `source`): the name as written, and the index's URL.
    pub pinned: Vec<(String, String)>,
    /// The host of every registry or index the settings name, nearest or not, for any scope
    /// (uv's and poetry's other indexes, yarn's `npmRegistries` too): where the project means
    /// its packages to come from.
    pub hosts: std::collections::BTreeSet<String>,
}

impl Project {
    /// The tool's own minimum release age for package `name`: its scope's, else the project's.
    pub fn minimum_for(&self, name: &str) -> Option<&(u64, String)> {
        let scope = name
            .starts_with('@')
            .then(|| name.split('/').next())
            .flatten();
        match self
            .scoped_minimum
            .iter()
            .find(|(named, _)| Some(named.as_str()) == scope)
        {
            Some((_, minimum)) => Some(minimum),
            None => self.minimum.as_ref(),
        }
    }

    /// The `Authorization` the settings give for the registry at `url`: the longest matching
    /// `//host/path/` prefix.
    pub fn authorization_for(&self, url: &str) -> Option<&str> {
        let bare = credential_prefix(url);
        self.credentials
            .iter()
            .filter(|(prefix, _)| bare.starts_with(prefix.as_str()))
            .max_by_key(|(prefix, _)| prefix.len())
            .map(|(_, value)| value.as_str())
    }

    /// The registry the settings name for package `name`: its scope's, else the default.
    pub fn registry_for(&self, name: &str) -> Option<&str> {
        let scope = name
            .starts_with('@')
            .then(|| name.split('/').next())
            .flatten();
        self.registries
            .iter()
            .find(|(named, _)| named.is_some() && named.as_deref() == scope)
            .or_else(|| self.registries.iter().find(|(named, _)| named.is_none()))
            .map(|(_, url)| url.as_str())
    }
}

/// The tool that wrote the lockfile at `path`, by its name.
fn tool_of(path: &str) -> Option<&'static str> {
    Some(match path.rsplit('/').next()? {
        "package-lock.json" | "npm-shrinkwrap.json" => "npm",
        "pnpm-lock.yaml" => "pnpm",
        "yarn.lock" => "yarn",
        "bun.lock" | "bun.lockb" => "bun",
        "uv.lock" => "uv",
        "poetry.lock" => "poetry",
        "pdm.lock" => "pdm",
        _ => return None,
    })
}

/// What `files` (by path, nearest the lockfile at `lockfile` first) say, `now` being Unix
/// seconds (uv's `exclude-newer` may be a date).
pub fn read(lockfile: &str, files: &[(String, Vec<u8>)], now: u64) -> Project {
    let Some(tool) = tool_of(lockfile) else {
        return Project::default();
    };
    let mut project = Project::default();
    for (path, bytes) in files {
        let name = path.rsplit('/').next().unwrap_or(path);
        let text = String::from_utf8_lossy(bytes);
        match (name, tool) {
            (".npmrc", "npm" | "pnpm" | "bun" | "yarn") => npmrc(&text, path, tool, &mut project),
            (".yarnrc.yml", "yarn") => yarnrc(&text, path, &mut project),
            ("pnpm-workspace.yaml", "pnpm") => {
                let document =
                    crate::ecosystem::yaml_document(&text).unwrap_or(yaml_rust2::Yaml::Null);
                if let Some(minutes) = number(&document["minimumReleaseAge"]) {
                    set_minimum(
                        &mut project,
                        minutes * 60,
                        format!("pnpm's minimumReleaseAge in {path}"),
                    );
                }
            }
            ("bunfig.toml", "bun") => bunfig(&text, path, &mut project),
            ("pyproject.toml" | "uv.toml", "uv") => uv(&text, path, name, now, &mut project),
            ("pyproject.toml", "poetry" | "pdm") => python_sources(&text, tool, &mut project),
            _ => {}
        }
    }
    project
}

/// Notes the host of a registry or index URL the settings name (`//host/path` as yarn's
/// `npmRegistries` keys write it too).
fn add_host(project: &mut Project, url: &str) {
    let url = url.trim().trim_matches('"').trim_matches('\'');
    let url = match url.strip_prefix("//") {
        Some(bare) => format!("https://{bare}"),
        None => url.to_string(),
    };
    if let Some(host) = crate::package::url_host(&url).filter(|_| !url.contains("${")) {
        project.hosts.insert(host);
    }
}

/// The nearest file's value wins: a later (farther) one does not replace it.
fn set_minimum(project: &mut Project, seconds: u64, named: String) {
    if project.minimum.is_none() && seconds > 0 {
        project.minimum = Some((seconds, named));
    }
}

fn add_registry(project: &mut Project, scope: Option<String>, url: &str) {
    let url = url.trim().trim_matches('"').trim_matches('\'');
    let usable = (url.starts_with("https://") || url.starts_with("http://")) && !url.contains("${");
    if usable {
        add_host(project, url);
    }
    if usable && !project.registries.iter().any(|(named, _)| *named == scope) {
        project
            .registries
            .push((scope, url.trim_end_matches('/').to_string()));
    }
}

/// Records `scope` as one the settings send to a registry of its own.
fn add_scope(project: &mut Project, scope: &str) {
    if !project.scopes.iter().any(|known| known == scope) {
        project.scopes.push(scope.to_string());
    }
}

fn npmrc(text: &str, path: &str, tool: &str, project: &mut Project) {
    for line in text.lines().map(str::trim) {
        if line.starts_with([';', '#']) {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let (key, value) = (key.trim(), value.trim());
        if let Some(credential) = credential(key, value) {
            project.credentials.push(credential);
            continue;
        }
        match key {
            "registry" => add_registry(project, None, value),
            _ if key.starts_with('@') && key.ends_with(":registry") => {
                let scope = key.trim_end_matches(":registry").to_string();
                add_scope(project, &scope);
                add_registry(project, Some(scope), value);
            }
            "min-release-age" if tool == "npm" => {
                if let Ok(days) = value.parse::<u64>() {
                    set_minimum(
                        project,
                        days * 86_400,
                        format!("npm's min-release-age in {path}"),
                    );
                }
            }
            "minimum-release-age" if tool == "pnpm" => {
                if let Ok(minutes) = value.parse::<u64>() {
                    set_minimum(
                        project,
                        minutes * 60,
                        format!("pnpm's minimum-release-age in {path}"),
                    );
                }
            }
            _ => {}
        }
    }
}

/// `${VARIABLE}` read from the environment (a value without one as it is); `None` when unset,
/// empty or not printable.
fn expand(value: &str) -> Option<String> {
    let value = value.trim().trim_matches('"').trim_matches('\'');
    let value = match value
        .strip_prefix("${")
        .and_then(|rest| rest.strip_suffix('}'))
    {
        Some(variable) => std::env::var(variable).ok()?,
        None => value.to_string(),
    };
    (!value.is_empty() && !value.chars().any(char::is_control)).then_some(value)
}

/// The `//host/path/` a registry URL's credentials are keyed by.
fn credential_prefix(url: &str) -> String {
    let bare = url.split_once("//").map_or(url, |(_, rest)| rest);
    format!("//{}/", bare.trim_end_matches('/'))
}

/// A `//host/path/:_authToken=…` (or `:_auth=…`) line: the registry prefix and the header
/// value. `${VARIABLE}` is read from the environment, where the project's file points.
fn credential(key: &str, value: &str) -> Option<(String, String)> {
    let (prefix, kind) = key.rsplit_once(':')?;
    if !prefix.starts_with("//") {
        return None;
    }
    let value = expand(value)?;
    let header = match kind {
        "_authToken" => format!("Bearer {value}"),
        "_auth" => format!("Basic {value}"),
        _ => return None,
    };
    let prefix = format!("{}/", prefix.trim_end_matches('/'));
    Some((prefix, header))
}

fn yarnrc(text: &str, path: &str, project: &mut Project) {
    let document = crate::ecosystem::yaml_document(text).unwrap_or(yaml_rust2::Yaml::Null);
    if let Some(url) = crate::ecosystem::yaml_text(&document["npmRegistryServer"]) {
        add_registry(project, None, &url);
    }
    if let yaml_rust2::Yaml::Hash(scopes) = &document["npmScopes"] {
        for (scope, settings) in scopes {
            let Some(scope) = crate::ecosystem::yaml_text(scope) else {
                continue;
            };
            // A scope that only sets a token is on the default registry: not a registry of its
            // own.
            let server = &settings["npmRegistryServer"];
            if server.is_badvalue() || server.is_null() {
                continue;
            }
            let scope = format!("@{}", scope.trim_start_matches('@'));
            add_scope(project, &scope);
            if let Some(url) = crate::ecosystem::yaml_text(server) {
                add_registry(project, Some(scope), &url);
            }
        }
    }
    if let yaml_rust2::Yaml::Hash(registries) = &document["npmRegistries"] {
        for server in registries.keys() {
            if let Some(server) = crate::ecosystem::yaml_text(server) {
                add_host(project, &server);
            }
        }
    }
    // A number of minutes, or a duration (`7d`).
    let gate = &document["npmMinimalAgeGate"];
    let seconds = number(gate)
        .map(|minutes| minutes * 60)
        .or_else(|| crate::ecosystem::yaml_text(gate).and_then(|text| parse_duration(&text).ok()));
    if let Some(seconds) = seconds {
        set_minimum(
            project,
            seconds,
            format!("yarn's npmMinimalAgeGate in {path}"),
        );
    }
    yarn_credentials(&document, project);
}

/// yarn's tokens: `npmAuthToken` beside `npmRegistryServer` (top level and per scope), and in
/// `npmRegistries` by registry.
fn yarn_credentials(document: &yaml_rust2::Yaml, project: &mut Project) {
    let text = crate::ecosystem::yaml_text;
    let mut add = |server: Option<String>, token: &yaml_rust2::Yaml| {
        if let (Some(server), Some(token)) = (server, text(token).and_then(|t| expand(&t))) {
            project
                .credentials
                .push((credential_prefix(&server), format!("Bearer {token}")));
        }
    };
    add(
        text(&document["npmRegistryServer"]),
        &document["npmAuthToken"],
    );
    if let yaml_rust2::Yaml::Hash(scopes) = &document["npmScopes"] {
        for settings in scopes.values() {
            add(
                text(&settings["npmRegistryServer"]),
                &settings["npmAuthToken"],
            );
        }
    }
    if let yaml_rust2::Yaml::Hash(registries) = &document["npmRegistries"] {
        for (server, settings) in registries {
            add(text(server), &settings["npmAuthToken"]);
        }
    }
}

fn bunfig(text: &str, path: &str, project: &mut Project) {
    let Ok(document) = text.parse::<toml::Table>() else {
        return;
    };
    let install = &document.get("install");
    let registry = install.and_then(|install| install.get("registry"));
    let url =
        registry.and_then(|registry| registry.as_str().or_else(|| registry.get("url")?.as_str()));
    if let Some(url) = url {
        add_registry(project, None, url);
    }
    if let Some(scopes) = install
        .and_then(|install| install.get("scopes"))
        .and_then(toml::Value::as_table)
    {
        for (scope, value) in scopes {
            let scope = format!("@{}", scope.trim_start_matches('@'));
            add_scope(project, &scope);
            if let Some(url) = value.as_str().or_else(|| value.get("url")?.as_str()) {
                add_registry(project, Some(scope), url);
            }
        }
    }
    let seconds = install
        .and_then(|install| install.get("minimumReleaseAge"))
        .and_then(toml::Value::as_integer)
        .and_then(|seconds| u64::try_from(seconds).ok());
    if let Some(seconds) = seconds {
        set_minimum(
            project,
            seconds,
            format!("bun's minimumReleaseAge in {path}"),
        );
    }
}

/// The index poetry or pdm installs from: poetry's `primary` (or `default`) source, pdm's
/// source named `pypi`.
fn python_sources(text: &str, tool: &str, project: &mut Project) {
    let Ok(document) = text.parse::<toml::Table>() else {
        return;
    };
    let sources = document
        .get("tool")
        .and_then(|tools| tools.get(tool))
        .and_then(|settings| settings.get("source"))
        .and_then(toml::Value::as_array);
    for source in sources.into_iter().flatten() {
        let field = |key: &str| source.get(key).and_then(toml::Value::as_str);
        let chosen = match tool {
            "poetry" => matches!(field("priority"), Some("primary" | "default")),
            _ => field("name") == Some("pypi"),
        };
        if let Some(url) = field("url") {
            add_host(project, url);
        }
        if let (true, Some(url)) = (chosen, field("url")) {
            add_registry(project, None, url);
        }
    }
    if tool == "poetry" {
        poetry_pinned(&document, project);
    }
}

/// poetry's dependencies that name a `priority = "explicit"` source (`source = "acme"`), in
/// the main table, the old dev table and every group.
fn poetry_pinned(document: &toml::Table, project: &mut Project) {
    let Some(poetry) = document.get("tool").and_then(|tools| tools.get("poetry")) else {
        return;
    };
    let explicit: Vec<(&str, &str)> = poetry
        .get("source")
        .and_then(toml::Value::as_array)
        .into_iter()
        .flatten()
        .filter(|source| source.get("priority").and_then(toml::Value::as_str) == Some("explicit"))
        .filter_map(|source| Some((source.get("name")?.as_str()?, source.get("url")?.as_str()?)))
        .collect();
    if explicit.is_empty() {
        return;
    }
    let groups = poetry
        .get("group")
        .and_then(toml::Value::as_table)
        .into_iter()
        .flat_map(|groups| groups.values())
        .filter_map(|group| group.get("dependencies"));
    let tables = [poetry.get("dependencies"), poetry.get("dev-dependencies")]
        .into_iter()
        .flatten()
        .chain(groups)
        .filter_map(toml::Value::as_table);
    for table in tables {
        for (name, requirement) in table {
            pin(project, name, requirement, "source", &explicit);
        }
    }
}

/// Records `name` as pinned when `requirement` (a table, or a list of them for several
/// markers) names one of the `explicit` indexes (by name, with its URL) under `key`.
fn pin(
    project: &mut Project,
    name: &str,
    requirement: &toml::Value,
    key: &str,
    explicit: &[(&str, &str)],
) {
    let choices = match requirement {
        toml::Value::Array(choices) => choices.iter().collect(),
        other => vec![other],
    };
    for choice in choices {
        let index = choice.get(key).and_then(toml::Value::as_str);
        let Some((_, url)) = explicit.iter().find(|(named, _)| Some(*named) == index) else {
            continue;
        };
        let url = url.trim().trim_end_matches('/').to_string();
        if !project.pinned.contains(&(name.to_string(), url.clone())) {
            project.pinned.push((name.to_string(), url));
        }
    }
}

/// uv's packages pinned (`[tool.uv.sources] name = { index = "acme" }`) to an index marked
/// `explicit = true`, which serves only the packages pinned to it.
fn uv_pinned(table: &toml::Table, project: &mut Project) {
    let explicit: Vec<(&str, &str)> = table
        .get("index")
        .and_then(toml::Value::as_array)
        .into_iter()
        .flatten()
        .filter(|index| index.get("explicit").and_then(toml::Value::as_bool) == Some(true))
        .filter_map(|index| Some((index.get("name")?.as_str()?, index.get("url")?.as_str()?)))
        .collect();
    if explicit.is_empty() {
        return;
    }
    let sources = table.get("sources").and_then(toml::Value::as_table);
    for (name, requirement) in sources.into_iter().flatten() {
        pin(project, name, requirement, "index", &explicit);
    }
}

fn uv(text: &str, path: &str, name: &str, now: u64, project: &mut Project) {
    let Ok(document) = text.parse::<toml::Table>() else {
        return;
    };
    let table = if name == "uv.toml" {
        Some(&document)
    } else {
        document
            .get("tool")
            .and_then(|tool| tool.get("uv"))
            .and_then(toml::Value::as_table)
    };
    // The index: `index-url`, or the `[[index]]` marked `default = true`.
    if let Some(url) = table
        .and_then(|table| table.get("index-url"))
        .and_then(toml::Value::as_str)
    {
        add_registry(project, None, url);
    }
    if let Some(table) = table {
        uv_pinned(table, project);
    }
    let indexes = table
        .and_then(|table| table.get("index"))
        .and_then(toml::Value::as_array);
    let extra = table
        .and_then(|table| table.get("extra-index-url"))
        .and_then(toml::Value::as_array);
    for url in extra.into_iter().flatten().filter_map(toml::Value::as_str) {
        add_host(project, url);
    }
    for index in indexes.into_iter().flatten() {
        if let Some(url) = index.get("url").and_then(toml::Value::as_str) {
            add_host(project, url);
        }
        let default = index.get("default").and_then(toml::Value::as_bool) == Some(true);
        if let (true, Some(url)) = (default, index.get("url").and_then(toml::Value::as_str)) {
            add_registry(project, None, url);
        }
    }
    let Some(value) = table.and_then(|table| table.get("exclude-newer")) else {
        return;
    };
    let text = match value {
        toml::Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    // A time: nothing newer than it is taken, an age that grows by the day.
    let seconds = match crate::report::parse_rfc3339(&text) {
        Some(time) => now.saturating_sub(time),
        None => {
            let text = text.trim();
            let iso_days = text
                .strip_prefix('P')
                .and_then(|rest| rest.strip_suffix('D'))
                .and_then(|days| days.parse::<u64>().ok())
                .map(|days| days * 86_400);
            match iso_days.or_else(|| parse_duration(text).ok()) {
                Some(seconds) => seconds,
                None => return,
            }
        }
    };
    set_minimum(
        project,
        seconds,
        format!("uv's exclude-newer = {text:?} in {path}"),
    );
}

/// A YAML integer as a non-negative number.
fn number(value: &yaml_rust2::Yaml) -> Option<u64> {
    match value {
        yaml_rust2::Yaml::Integer(number) => u64::try_from(*number).ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(list: &[(&str, &str)]) -> Vec<(String, Vec<u8>)> {
        list.iter()
            .map(|(path, text)| (path.to_string(), text.as_bytes().to_vec()))
            .collect()
    }

    #[test]
    fn each_tool_reads_its_own_settings_nearest_first() {
        let now = crate::report::parse_rfc3339("2026-12-05").unwrap();
        let npm = read(
            "web/package-lock.json",
            &files(&[
                (
                    "web/.npmrc",
                    "min-release-age=7\n@acme:registry=https://npm.example.test/acme/\n",
                ),
                (
                    ".npmrc",
                    "registry=https://mirror.example.test\nmin-release-age=1\n",
                ),
            ]),
            now,
        );
        assert_eq!(
            npm.minimum,
            Some((7 * 86_400, "npm's min-release-age in web/.npmrc".into()))
        );
        assert_eq!(
            npm.registry_for("@acme/tool"),
            Some("https://npm.example.test/acme")
        );
        assert_eq!(
            npm.registry_for("left-pad"),
            Some("https://mirror.example.test")
        );

        let pnpm = read(
            "pnpm-lock.yaml",
            &files(&[("pnpm-workspace.yaml", "minimumReleaseAge: 1440\n")]),
            now,
        );
        assert_eq!(pnpm.minimum.unwrap().0, 86_400);
        let yarn = read(
            "yarn.lock",
            &files(&[(".yarnrc.yml", "npmMinimalAgeGate: 3d\nnpmScopes:\n  acme:\n    npmRegistryServer: \"https://npm.example.test\"\n")]),
            now,
        );
        assert_eq!(yarn.minimum.as_ref().unwrap().0, 3 * 86_400);
        assert_eq!(
            yarn.registry_for("@acme/x"),
            Some("https://npm.example.test")
        );
        let bun = read("bun.lock", &files(&[("bunfig.toml", "[install]\nminimumReleaseAge = 259200\nregistry = { url = \"https://npm.example.test/\" }\n")]), now);
        assert_eq!(bun.minimum.as_ref().unwrap().0, 259_200);
        assert_eq!(bun.registry_for("x"), Some("https://npm.example.test"));
        let uv = read(
            "uv.lock",
            &files(&[(
                "pyproject.toml",
                "[tool.uv]\nexclude-newer = \"2026-12-01T00:00:00Z\"\n",
            )]),
            now,
        );
        assert_eq!(uv.minimum.unwrap().0, 4 * 86_400);
        // A registry behind an environment variable is not guessed; another tool's file is not read.
        let guarded = read(
            "package-lock.json",
            &files(&[
                (".npmrc", "registry=${REGISTRY}\n"),
                ("pnpm-workspace.yaml", "minimumReleaseAge: 10\n"),
            ]),
            now,
        );
        assert_eq!(guarded, Project::default());
    }

    #[test]
    fn credentials_are_for_the_registry_they_name() {
        let project = read(
            "package-lock.json",
            &files(&[(".npmrc", "//npm.example.test/corp/:_authToken=abc\n//other.example.test/:_auth=dXNlcg==\n//x.example.test/:_authToken=${LOCKGATE_TEST_UNSET_VARIABLE}\n")]),
            0,
        );
        assert_eq!(
            project.authorization_for("https://npm.example.test/corp"),
            Some("Bearer abc")
        );
        assert_eq!(project.authorization_for("https://npm.example.test/"), None);
        assert_eq!(
            project.authorization_for("https://other.example.test/simple/"),
            Some("Basic dXNlcg==")
        );
        assert_eq!(project.authorization_for("https://x.example.test/"), None);
        let yarn = read(
            "yarn.lock",
            &files(&[(".yarnrc.yml", "npmRegistryServer: \"https://npm.example.test\"\nnpmAuthToken: top\nnpmRegistries:\n  \"//corp.example.test/npm\":\n    npmAuthToken: corp\n")]),
            0,
        );
        assert_eq!(
            yarn.authorization_for("https://npm.example.test/"),
            Some("Bearer top")
        );
        assert_eq!(
            yarn.authorization_for("https://corp.example.test/npm"),
            Some("Bearer corp")
        );
    }
}
