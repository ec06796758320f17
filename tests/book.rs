//! The book, end to end: `procbook book` builds it in seconds with real captured output; every
//! chapter exists, every link, include and "Try it" command holds, every Python snippet runs;
//! the preprocessor also works as the stock `mdbook` tool calls it; `--serve` stays on
//! 127.0.0.1 and stops on Ctrl-C; and headless Chromium shows every chapter without errors
//! (screenshots in target/book-screenshots/).

#[path = "book/chromium.rs"]
mod chromium;
mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use procbook::directive::{self, Piece};
use support::{TAG_ENV, assert_none_left, procbook, run, tag};

/// The whole book, demos and Python included, must build within this.
const BUILD_LIMIT: Duration = Duration::from_secs(180);
/// …and, to count as "seconds, not minutes", within this.
const SECONDS: Duration = Duration::from_secs(60);
const GRACE: Duration = Duration::from_secs(5);

fn book_src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("book/src")
}

/// A fresh folder for this test run under target/tmp (those of earlier runs whose process
/// is gone are removed: a run's folders are kept to look at until then).
fn scratch(name: &str) -> PathBuf {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    for entry in std::fs::read_dir(tmp).into_iter().flatten().flatten() {
        let file = entry.file_name().to_string_lossy().to_string();
        let pid = file.strip_prefix(name).and_then(|r| r.strip_prefix('-'));
        if let Some(pid) = pid.and_then(|p| p.parse::<u32>().ok())
            && !Path::new(&format!("/proc/{pid}")).exists()
        {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
    let dir = tmp.join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("making a scratch folder");
    dir
}

/// The book, built once for every test in this file that reads the HTML.
struct Built {
    dest: PathBuf,
    took: Duration,
    stdout: String,
}

fn built() -> &'static Built {
    static BUILT: OnceLock<Result<Built, String>> = OnceLock::new();
    let built = BUILT.get_or_init(|| {
        let dest = scratch("book-html");
        let tag = tag("book");
        let started = Instant::now();
        let out = run(
            procbook(
                &tag,
                &["book", "--dest", dest.to_str().expect("utf-8 path")],
            ),
            "",
            BUILD_LIMIT,
        );
        let took = started.elapsed();
        assert_none_left(&tag, GRACE);
        if out.code != Some(0) {
            return Err(format!("the book did not build: {out:?}"));
        }
        Ok(Built {
            dest,
            took,
            stdout: out.stdout,
        })
    });
    built.as_ref().unwrap_or_else(|e| panic!("{e}"))
}

/// The chapters SUMMARY.md lists, as (title, file.md), in order.
fn summary() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(book_src().join("SUMMARY.md")).expect("SUMMARY.md");
    let mut chapters = Vec::new();
    for line in text.lines() {
        let Some(open) = line.find('[') else { continue };
        let Some(close) = line[open..].find("](").map(|i| open + i) else {
            continue;
        };
        let Some(end) = line[close..].find(')').map(|i| close + i) else {
            continue;
        };
        let target = &line[close + 2..end];
        if !target.is_empty() {
            chapters.push((line[open + 1..close].to_string(), target.to_string()));
        }
    }
    chapters
}

/// Every chapter's markdown, by file name.
fn chapters() -> BTreeMap<String, String> {
    summary()
        .into_iter()
        .map(|(_, file)| {
            let text = std::fs::read_to_string(book_src().join(&file))
                .unwrap_or_else(|e| panic!("SUMMARY.md lists {file}, which cannot be read: {e}"));
            (file, text)
        })
        .collect()
}

fn html_name(md: &str) -> String {
    md.strip_suffix(".md").unwrap_or(md).to_string() + ".html"
}

#[test]
fn the_book_builds_in_seconds() {
    let built = built();
    eprintln!(
        "the whole book built in {:.1}s:\n{}",
        built.took.as_secs_f64(),
        built.stdout
    );
    assert!(
        built.took < SECONDS,
        "building the book took {:?}, not seconds",
        built.took
    );
    assert!(built.stdout.contains("Captured "), "{}", built.stdout);
    assert!(built.dest.join("index.html").is_file());
    assert!(
        built.dest.join("searchindex.json").is_file()
            || std::fs::read_dir(&built.dest)
                .unwrap()
                .flatten()
                .any(|e| e.file_name().to_string_lossy().starts_with("searchindex")),
        "search is on, so there is a search index"
    );
}

#[test]
fn every_chapter_in_summary_exists_and_has_html() {
    let built = built();
    let listed = summary();
    assert!(listed.len() >= 13, "intro and 12 chapters: {listed:?}");
    for (title, file) in &listed {
        assert!(book_src().join(file).is_file(), "{title}: no {file}");
        let html = built.dest.join(html_name(file));
        let page = std::fs::read_to_string(&html)
            .unwrap_or_else(|e| panic!("{title}: no {}: {e}", html.display()));
        assert!(page.contains("<main>"), "{} has no content", html.display());
    }
}

/// `href="…"` and `src="…"` values in an HTML page.
fn links(page: &str) -> Vec<String> {
    let mut found = Vec::new();
    for attr in ["href=\"", "src=\""] {
        let mut rest = page;
        while let Some(at) = rest.find(attr) {
            rest = &rest[at + attr.len()..];
            if let Some(end) = rest.find('"') {
                found.push(rest[..end].replace("&amp;", "&"));
                rest = &rest[end..];
            }
        }
    }
    found
}

fn percent_decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match (bytes[i], text.get(i + 1..i + 3)) {
            (b'%', Some(hex)) if u8::from_str_radix(hex, 16).is_ok() => {
                out.push(u8::from_str_radix(hex, 16).unwrap());
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn no_internal_link_is_broken() {
    let built = built();
    let mut pages: Vec<PathBuf> = std::fs::read_dir(&built.dest)
        .expect("the built book")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "html"))
        .collect();
    pages.sort();
    let mut ids: BTreeMap<PathBuf, BTreeSet<String>> = BTreeMap::new();
    let mut ids_of = |file: &Path| -> BTreeSet<String> {
        ids.entry(file.to_path_buf())
            .or_insert_with(|| {
                let page = std::fs::read_to_string(file).unwrap_or_default();
                page.split(" id=\"")
                    .skip(1)
                    .filter_map(|s| s.split('"').next())
                    .map(str::to_string)
                    .collect()
            })
            .clone()
    };
    let mut broken = Vec::new();
    let mut checked = 0;
    for page in &pages {
        let text = std::fs::read_to_string(page).expect("a page");
        for link in links(&text) {
            let external = ["http:", "https:", "mailto:", "javascript:", "data:", "//"]
                .iter()
                .any(|p| link.starts_with(p));
            if external || link.is_empty() {
                continue;
            }
            checked += 1;
            let (path, fragment) = link.split_once('#').unwrap_or((&link, ""));
            let path = path.split('?').next().unwrap_or("");
            let target = if path.is_empty() {
                page.clone()
            } else {
                page.parent().unwrap().join(percent_decoded(path))
            };
            let name = page.file_name().unwrap().to_string_lossy().to_string();
            if !target.exists() {
                broken.push(format!("{name}: {link} (no {})", target.display()));
            } else if !fragment.is_empty()
                && target.extension().is_some_and(|x| x == "html")
                && !ids_of(&target).contains(&percent_decoded(fragment))
            {
                broken.push(format!("{name}: {link} (no id \"{fragment}\")"));
            }
        }
    }
    eprintln!("checked {checked} internal links in {} pages", pages.len());
    assert!(
        broken.is_empty(),
        "broken links:\n  {}",
        broken.join("\n  ")
    );
}

#[test]
fn every_include_resolves_to_a_file_and_anchor() {
    let mut problems = Vec::new();
    let mut count = 0;
    for (file, text) in chapters() {
        let dir = book_src().join(&file).parent().unwrap().to_path_buf();
        for piece in directive::parse(&text) {
            let Piece::Include { path, anchor } = piece else {
                continue;
            };
            count += 1;
            let target = directive::resolve(&dir, path);
            let Ok(source) = std::fs::read_to_string(&target) else {
                problems.push(format!("{file}: {{{{#include {path}}}}}: no such file"));
                continue;
            };
            if let Some(anchor) =
                anchor.filter(|a| !a.chars().all(|c| c.is_ascii_digit() || c == ':'))
            {
                match directive::anchored(&source, anchor) {
                    Some(code) if !code.trim().is_empty() => {}
                    Some(_) => problems.push(format!("{file}: {path}:{anchor} is empty")),
                    None => problems.push(format!("{file}: {path} has no anchor {anchor}")),
                }
            }
        }
    }
    eprintln!("{count} includes checked");
    assert!(count > 0, "the book includes real code");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_try_line_is_a_command_of_the_table() {
    let mut tried = Vec::new();
    let mut problems = Vec::new();
    for (file, text) in chapters() {
        for piece in directive::parse(&text) {
            if let Piece::Try(words) = piece {
                tried.push(words.join(" "));
                if let Err(e) = procbook::book::preprocess::check_try(&words) {
                    problems.push(format!("{file}: {e:#}"));
                }
            }
        }
    }
    eprintln!("try lines: {tried:?}");
    assert!(
        tried.iter().any(|t| t.starts_with("demo pool")),
        "{tried:?}"
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_python_snippet_runs_and_exits_0() {
    if Command::new("python3").arg("--version").output().is_err() {
        eprintln!("SKIPPED: python3 is not installed, the Python snippets were not run");
        return;
    }
    let dir = book_src().join("python");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("book/src/python")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "py"))
        .collect();
    files.sort();
    assert!(!files.is_empty());
    let tag = tag("python");
    for file in &files {
        let started = Instant::now();
        let mut cmd = Command::new("python3");
        cmd.arg(file)
            .current_dir(book_src())
            .env(TAG_ENV, &tag)
            .env("PYTHONDONTWRITEBYTECODE", "1");
        let out = run(cmd, "", Duration::from_secs(60));
        let name = file.file_name().unwrap().to_string_lossy();
        eprintln!(
            "{name}: exit {:?} in {:.2}s",
            out.code,
            started.elapsed().as_secs_f64()
        );
        assert_eq!(
            out.code,
            Some(0),
            "python3 {name} failed:\n{}{}",
            out.stdout,
            out.stderr
        );
        assert!(
            !out.stdout.trim().is_empty(),
            "python3 {name} printed nothing"
        );
    }
    assert_none_left(&tag, GRACE);
}

/// How many output cells a chapter asks for: (demos, Python runs).
fn cells_in(text: &str) -> (usize, usize) {
    let pieces = directive::parse(text);
    let demos = pieces
        .iter()
        .filter(|p| matches!(p, Piece::Demo(_)))
        .count();
    let python = pieces
        .iter()
        .filter(|p| matches!(p, Piece::Python(_)))
        .count();
    (demos, python)
}

/// Does `text` contain `pid ` followed by digits?
fn has_pid(text: &str) -> bool {
    text.match_indices("pid ").any(|(at, _)| {
        text[at + 4..]
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_digit())
    })
}

#[test]
fn captured_output_shows_real_pids_and_worker_names() {
    let built = built();
    let python = Command::new("python3").arg("--version").output().is_ok();
    let mut all_cells = String::new();
    for (file, text) in chapters() {
        let page = std::fs::read_to_string(built.dest.join(html_name(&file))).expect("a page");
        let (demos, pythons) = cells_in(&text);
        let cells: Vec<&str> = page.split("<div class=\"procbook-output").skip(1).collect();
        assert_eq!(
            cells.len(),
            demos + pythons,
            "{file}: one output cell per demo and Python directive"
        );
        let captured_demos = page.matches("Captured by <code>procbook demo ").count();
        assert_eq!(captured_demos, demos, "{file}: a caption per demo");
        if python {
            assert_eq!(
                page.matches("Captured by <code>python3 ").count(),
                pythons,
                "{file}: a caption per Python run"
            );
        }
        for cell in &cells {
            let cell = &cell[..cell.find("</div>").unwrap_or(cell.len())];
            if cell.starts_with(" procbook-missing") {
                assert!(
                    !python,
                    "{file}: a Python cell is empty although python3 is here"
                );
                assert!(cell.contains("was not installed"), "{file}: {cell}");
                continue;
            }
            assert!(
                cell.contains(" UTC, on "),
                "{file}: a cell says when and on how many cores: {cell}"
            );
        }
        assert!(
            !page.contains("{{#procbook"),
            "{file}: a directive was left in the page"
        );
        all_cells.extend(cells.iter().map(|c| c.to_string()));
    }
    assert!(has_pid(&all_cells), "captured output shows PIDs");
    assert!(
        all_cells.contains("SpawnPoolWorker-"),
        "captured output names pool workers"
    );
    let pool = std::fs::read_to_string(built.dest.join("06-creating-a-pool.html")).unwrap();
    assert!(
        pool.contains("[SpawnPoolWorker-1 pid "),
        "chapter 6 shows its pool's workers"
    );
}

/// A small book of its own, for the tests that need a build but not the whole book.
fn fixture_book(name: &str, chapter: &str) -> PathBuf {
    let root = scratch(name);
    std::fs::create_dir_all(root.join("src")).unwrap();
    std::fs::write(
        root.join("book.toml"),
        "[book]\ntitle = \"fixture\"\n\n[preprocessor.procbook]\ncommand = \"false\"\nbefore = [\"links\"]\n",
    )
    .unwrap();
    std::fs::write(
        root.join("src/SUMMARY.md"),
        "# Summary\n\n- [One](one.md)\n",
    )
    .unwrap();
    std::fs::write(root.join("src/one.md"), chapter).unwrap();
    std::fs::write(
        root.join("src/code.rs"),
        "// ANCHOR: here\nfn here() {}\n// ANCHOR_END: here\n",
    )
    .unwrap();
    root
}

#[test]
fn a_bad_directive_fails_the_build_naming_its_chapter() {
    let root = fixture_book(
        "bad-book",
        "# One\n\n{{#procbook frobnicate}}\n\n{{#procbook try demo nope}}\n\n\
         {{#procbook demo pool --workers 0}}\n\n{{#include code.rs:nowhere}}\n\n\
         {{#include code.rs:here}}\n\n{{#procbook python missing.py}}\n",
    );
    let tag = tag("bad-book");
    let mut cmd = procbook(
        &tag,
        &["book", "--dest", root.join("out").to_str().unwrap()],
    );
    cmd.env("PROCBOOK_BOOK", &root);
    let out = run(cmd, "", Duration::from_secs(60));
    assert_none_left(&tag, GRACE);
    assert_eq!(out.code, Some(1), "{out:?}");
    for expected in [
        "one.md: {{#procbook frobnicate}}: not a procbook directive",
        "one.md: {{#procbook try demo nope}}: there is no demo `nope`",
        "one.md: {{#procbook demo pool --workers 0}}: `procbook demo pool --workers 0` cannot run",
        "one.md: {{#include code.rs:nowhere}}:",
        "has no `ANCHOR: nowhere`",
        "one.md: {{#procbook python missing.py}}: no Python file",
    ] {
        assert!(
            out.stderr.contains(expected),
            "missing {expected:?} in:\n{}",
            out.stderr
        );
    }
    assert!(!out.stderr.contains("code.rs:here"), "{}", out.stderr);
}

#[test]
fn the_preprocessor_speaks_mdbooks_protocol() {
    let tag = tag("protocol");
    let supports = |renderer: &str| {
        run(
            procbook(&tag, &["book", "preprocess", "supports", renderer]),
            "",
            Duration::from_secs(30),
        )
        .code
    };
    assert_eq!(supports("html"), Some(0));
    assert_ne!(supports("latex"), Some(0));

    // What `mdbook build` sends: [context, book] as JSON on stdin.
    use mdbook_preprocessor::book::{Book, BookItem, Chapter};
    let root = fixture_book("protocol-book", "unused");
    let config = mdbook_preprocessor::config::Config::default();
    let ctx = mdbook_preprocessor::PreprocessorContext::new(root.clone(), config, "html".into());
    let chapter = Chapter::new(
        "One",
        "# One\n\n{{#procbook demo process}}\n\n{{#procbook try demo four}}\n\n```rust\n{{#include code.rs:here}}\n```\n\n```rust\n{{#include code.rs}}\n```\n".into(),
        "one.md",
        vec![],
    );
    let book = Book::new_with_items(vec![BookItem::Chapter(chapter)]);
    let input = serde_json::to_string(&(&ctx, &book)).unwrap();
    let out = run(
        procbook(&tag, &["book", "preprocess"]),
        &input,
        Duration::from_secs(60),
    );
    assert_none_left(&tag, GRACE);
    assert_eq!(out.code, Some(0), "{out:?}");
    let back: Book = serde_json::from_str(&out.stdout).expect("a book back on stdout");
    let Some(BookItem::Chapter(chapter)) = back.items.first() else {
        panic!("no chapter came back: {back:?}");
    };
    let content = &chapter.content;
    assert!(
        content.contains("<div class=\"procbook-output\" data-procbook-run=\"demo process\">"),
        "{content}"
    );
    assert!(content.contains("[Process-1 pid "), "{content}");
    assert!(
        content.contains("Captured by <code>procbook demo process</code> on "),
        "{content}"
    );
    assert!(
        content.contains("<code>procbook demo four</code>"),
        "{content}"
    );
    assert!(
        content.contains("```rust\nfn here() {}\n```"),
        "an anchored include is the anchored code: {content}"
    );
    assert!(
        content.contains("{{#include code.rs}}"),
        "a whole-file include is left for mdBook: {content}"
    );
    assert!(out.stderr.contains("Captured 1 outputs"), "{}", out.stderr);
}

/// One HTTP GET; the status line and body.
fn get(port: u16, path: &str) -> (String, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connecting to the server");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    (
        head.lines().next().unwrap_or("").to_string(),
        body.to_string(),
    )
}

#[test]
fn serve_answers_on_localhost_only_and_stops_on_ctrl_c() {
    let root = fixture_book("serve-book", "# One\n\n{{#procbook demo four}}\n");
    let tag = tag("serve");
    let mut cmd = procbook(
        &tag,
        &[
            "book",
            "--serve",
            "--dest",
            root.join("out").to_str().unwrap(),
        ],
    );
    cmd.env("PROCBOOK_BOOK", &root)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .stdin(Stdio::null());
    let mut child = cmd.spawn().expect("starting procbook book --serve");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let url = loop {
        let line = lines
            .next()
            .expect("procbook book --serve says where it serves")
            .expect("reading its output");
        if let Some(rest) = line.strip_prefix("Serving the book on ") {
            break rest.split_whitespace().next().unwrap().to_string();
        }
    };
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let port: u16 = url["http://127.0.0.1:".len()..]
        .trim_end_matches('/')
        .parse()
        .unwrap();

    let (status, body) = get(port, "/");
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(body.contains("<title>"), "{body}");
    let (status, body) = get(port, "/one.html");
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(body.contains("procbook-output"), "{body}");
    assert_eq!(get(port, "/../book.toml").0, "HTTP/1.1 404 Not Found");
    assert_eq!(get(port, "/nothing-here.html").0, "HTTP/1.1 404 Not Found");

    // Ctrl-C: the server stops and procbook exits cleanly, quickly.
    let pid = child.id() as libc::pid_t;
    // SAFETY: signalling our own child.
    unsafe { libc::kill(pid, libc::SIGINT) };
    let stopped = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            stopped.elapsed() < Duration::from_secs(5),
            "--serve ignored Ctrl-C"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status}");
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(
        rest.iter().any(|l| l.contains("Stopped serving")),
        "{rest:?}"
    );
    assert_none_left(&tag, GRACE);
}

/// Where the screenshots go: target/book-screenshots.
fn screenshots() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .join("book-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn chromium_shows_every_chapter_with_output_search_and_no_errors() {
    let Some(exe) = chromium::find() else {
        if std::env::var_os("CI").is_some() {
            panic!(
                "chromium is not installed, and CI must run the browser test (apt-get install chromium)"
            );
        }
        eprintln!("\n\n*** SKIPPED: chromium not installed (apt-get install chromium) ***\n\n");
        return;
    };
    let built = built();
    let shots = screenshots();
    let profile = scratch("chromium-profile");
    let tag = tag("chromium");
    let mut browser = chromium::Browser::launch(&exe, &profile, (TAG_ENV, &tag));
    let page = browser.new_page(1400, 1000);
    let listed = summary();
    let mut problems = Vec::new();

    // The error check can fail: a console.error on a page is seen.
    browser.navigate(
        &page,
        &format!("file://{}", built.dest.join("index.html").display()),
    );
    browser.eval(&page, "console.error('procbook self-check')");
    let seen = browser.errors(&page);
    assert!(
        seen.iter().any(|e| e.contains("procbook self-check")),
        "console errors are not being collected: {seen:?}"
    );

    for (title, file) in &listed {
        let html = html_name(file);
        browser.clear_events();
        browser.navigate(
            &page,
            &format!("file://{}", built.dest.join(&html).display()),
        );

        // The sidebar lists every chapter.
        let sidebar = browser.eval(
            &page,
            "Array.from(document.querySelectorAll('#mdbook-sidebar a[href]')).map(a => a.getAttribute('href'))",
        );
        let hrefs: Vec<&str> = sidebar
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str())
            .collect();
        for (_, other) in &listed {
            let want = html_name(other);
            if !hrefs.iter().any(|h| {
                h.split('#').next() == Some(want.as_str()) || h.ends_with(&format!("/{want}"))
            }) {
                problems.push(format!(
                    "{html}: the sidebar has no link to {want} (it has {hrefs:?})"
                ));
            }
        }

        // The captured output is on the page, with PIDs where a demo ran.
        let text = chapters()[file].clone();
        let (demos, _) = cells_in(&text);
        let cells = browser.eval(
            &page,
            "Array.from(document.querySelectorAll('.procbook-output pre')).map(p => p.innerText)",
        );
        let cells: Vec<&str> = cells
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str())
            .collect();
        if cells.len() < demos {
            problems.push(format!(
                "{html}: {} output blocks shown, {demos} demos",
                cells.len()
            ));
        }
        if demos > 0 && !cells.iter().any(|c| has_pid(c)) {
            problems.push(format!("{html}: no PIDs in the captured output shown"));
        }
        let visible = browser.eval(
            &page,
            "Array.from(document.querySelectorAll('.procbook-output')).every(e => e.getBoundingClientRect().height > 0)",
        );
        if visible != serde_json::json!(true) {
            problems.push(format!("{html}: an output cell is hidden"));
        }

        let stem = html.trim_end_matches(".html");
        browser.screenshot(&page, &shots.join(format!("{stem}.png")), true);
        let has_columns = browser.eval(
            &page,
            "(() => { const s = document.querySelector('.side-by-side'); if (!s) return false; \
             s.scrollIntoView(); window.scrollBy(0, -80); return true; })()",
        );
        if has_columns == serde_json::json!(true) {
            browser.screenshot(
                &page,
                &shots.join(format!("{stem}-side-by-side.png")),
                false,
            );
        }
        for error in browser.errors(&page) {
            problems.push(format!("{html} ({title}): {error}"));
        }
    }

    // Search finds "pool".
    browser.clear_events();
    browser.navigate(
        &page,
        &format!(
            "file://{}?search=pool",
            built.dest.join("index.html").display()
        ),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    let hits = loop {
        let hits = browser.eval(
            &page,
            "document.querySelectorAll('#mdbook-searchresults li').length",
        );
        let hits = hits.as_u64().unwrap_or(0);
        if hits > 0 || Instant::now() > deadline {
            break hits;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    browser.screenshot(&page, &shots.join("search-pool.png"), false);
    if hits == 0 {
        problems.push("searching for \"pool\" found nothing".into());
    }
    for error in browser.errors(&page) {
        problems.push(format!("search page: {error}"));
    }
    browser.close();
    assert_none_left(&tag, Duration::from_secs(10));
    let _ = std::fs::remove_dir_all(&profile);
    eprintln!(
        "{} chapters looked at in Chromium; search for \"pool\": {hits} results; screenshots in {}",
        listed.len(),
        shots.display()
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// What a page's layout gets wrong at the current viewport, as one line each: side by side
/// not side by side (when `columns`), code or output wider than its box with no sideways
/// scroll, a block wider than the page, an output line wrapped, a "Try it" command broken.
const LAYOUT_PROBE: &str = r#"((columns) => {
  const bad = [];
  const where = (e) => {
    const h = e.closest('main') && [...e.closest('main').querySelectorAll('h1, h2, h3')]
      .filter(x => x.compareDocumentPosition(e) & Node.DOCUMENT_POSITION_FOLLOWING).pop();
    return (h ? h.textContent.trim().slice(0, 40) : 'top') + ': ';
  };
  const page = document.documentElement;
  if (page.scrollWidth > innerWidth + 1) bad.push(`the page scrolls sideways (${page.scrollWidth} > ${innerWidth})`);
  document.querySelectorAll('.side-by-side').forEach((s) => {
    const cols = [...s.children].map(c => c.getBoundingClientRect());
    if (columns && (cols.length !== 2 || Math.abs(cols[0].top - cols[1].top) > 1 || cols[1].left <= cols[0].right))
      bad.push(where(s) + 'Python and Rust are stacked, not side by side');
    if (!columns && cols.length === 2 && cols[1].top <= cols[0].top && innerWidth < 700)
      bad.push(where(s) + 'side by side on a phone');
    const outs = [...s.children].map(c => c.querySelector(':scope > .procbook-output pre'));
    if (columns && outs[0] && outs[1]) {
      const [a, b] = outs.map(o => o.getBoundingClientRect().top);
      if (Math.abs(a - b) > 1) bad.push(where(s) + `the two outputs start ${Math.round(Math.abs(a - b))}px apart`);
    }
  });
  document.querySelectorAll('main pre, main pre > code').forEach((e) => {
    const box = e.getBoundingClientRect();
    const parent = e.parentElement.getBoundingClientRect();
    if (box.right > parent.right + 1 && e.tagName === 'PRE') bad.push(where(e) + `a ${e.tagName.toLowerCase()} sticks out of its box by ${Math.round(box.right - parent.right)}px`);
    const o = getComputedStyle(e).overflowX;
    if (e.scrollWidth > e.clientWidth + 1 && o !== 'auto' && o !== 'scroll')
      bad.push(where(e) + `a ${e.tagName.toLowerCase()} clips ${e.scrollWidth - e.clientWidth}px with no scroll (overflow-x: ${o})`);
  });
  document.querySelectorAll('.procbook-output pre > code').forEach((c) => {
    const lines = c.textContent.replace(/\n$/, '').split('\n').length;
    const r = document.createRange();
    r.selectNodeContents(c);
    const tops = new Set([...r.getClientRects()].filter(x => x.height > 0).map(x => Math.round(x.top)));
    if (tops.size > lines) bad.push(where(c) + `an output of ${lines} lines shows as ${tops.size}: lines wrap`);
  });
  document.querySelectorAll('.procbook-try code').forEach((c) => {
    const r = document.createRange();
    r.selectNodeContents(c);
    const tops = new Set([...r.getClientRects()].filter(x => x.height > 0).map(x => Math.round(x.top)));
    if (tops.size > 1) bad.push(where(c) + `the command \`${c.textContent}\` is broken over ${tops.size} lines`);
  });
  return bad;
})"#;

#[test]
fn chromium_layout_holds_at_1280_1920_and_390_px() {
    let Some(exe) = chromium::find() else {
        if std::env::var_os("CI").is_some() {
            panic!("chromium is not installed, and CI must run the browser test");
        }
        eprintln!("\n\n*** SKIPPED: chromium not installed (apt-get install chromium) ***\n\n");
        return;
    };
    let built = built();
    let shots = screenshots();
    let profile = scratch("chromium-layout");
    let tag = tag("chromium-layout");
    let mut browser = chromium::Browser::launch(&exe, &profile, (TAG_ENV, &tag));
    let mut problems = Vec::new();
    let mut looked = 0;
    // (width, height, side by side expected, sidebar expected open)
    for (width, height, columns, sidebar) in [
        (1280, 900, true, true),
        (1920, 1080, true, true),
        (390, 844, false, false),
    ] {
        let page = browser.new_page(width, height);
        for (_, file) in summary() {
            let html = html_name(&file);
            browser.navigate(
                &page,
                &format!("file://{}", built.dest.join(&html).display()),
            );
            let open = browser.eval(
                &page,
                "document.documentElement.classList.contains('sidebar-visible')",
            );
            if open != serde_json::json!(sidebar) {
                problems.push(format!(
                    "{html} at {width}px: the sidebar is {} (expected {})",
                    if open == serde_json::json!(true) {
                        "open"
                    } else {
                        "closed"
                    },
                    if sidebar { "open" } else { "closed" }
                ));
            }
            let found = browser.eval(&page, &format!("{LAYOUT_PROBE}({columns})"));
            for line in found.as_array().into_iter().flatten() {
                problems.push(format!(
                    "{html} at {width}px: {}",
                    line.as_str().unwrap_or("?")
                ));
            }
            looked += 1;
        }
        // Screenshots to look at: chapter 6's side by side in light and navy.
        for theme in ["light", "navy"] {
            // mdBook keeps the reader's theme in localStorage and applies it (with the
            // matching highlighter) as the page loads.
            let url = format!(
                "file://{}",
                built.dest.join("06-creating-a-pool.html").display()
            );
            browser.eval(
                &page,
                &format!("localStorage.setItem('mdbook-theme', '{theme}')"),
            );
            browser.navigate(&page, &url);
            browser.eval(
                &page,
                "(() => { const s = document.querySelector('.side-by-side'); \
                 s.scrollIntoView(); window.scrollBy(0, -60); })()",
            );
            browser.screenshot(
                &page,
                &shots.join(format!("layout-{width}-{theme}.png")),
                false,
            );
            // The figures of chapters 6 and 10 in this theme: drawn, with room, in view.
            for chapter in ["06-creating-a-pool", "10-crashes"] {
                browser.navigate(
                    &page,
                    &format!(
                        "file://{}",
                        built.dest.join(format!("{chapter}.html")).display()
                    ),
                );
                let size = browser.eval(
                    &page,
                    "(() => { const f = document.querySelector('.procbook-figure svg'); \
                     if (!f) return null; f.scrollIntoView(); window.scrollBy(0, -60); \
                     const r = f.getBoundingClientRect(); return [r.width, r.height]; })()",
                );
                let (w, h) = (
                    size[0].as_f64().unwrap_or(0.0),
                    size[1].as_f64().unwrap_or(0.0),
                );
                if w < 200.0 || h < 60.0 {
                    problems.push(format!(
                        "{chapter} at {width}px: the figure is {w}x{h}px (or missing)"
                    ));
                }
                browser.screenshot(
                    &page,
                    &shots.join(format!("figure-{chapter}-{width}-{theme}.png")),
                    false,
                );
            }
        }
    }
    browser.close();
    assert_none_left(&tag, Duration::from_secs(10));
    let _ = std::fs::remove_dir_all(&profile);
    eprintln!(
        "{looked} pages measured; screenshots layout-*.png in {}",
        shots.display()
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Every output cell on a page that carries a figure: (the output's text, the figure's HTML).
fn cells_with_figures(page: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for cell in page.split("<div class=\"procbook-output").skip(1) {
        let Some(fig_at) = cell.find("<figure class=\"procbook-figure\"") else {
            continue;
        };
        // The figure belongs to this cell only if no other cell starts before it.
        let figure = &cell[fig_at..];
        let figure = &figure[..figure.find("</figure>").map_or(figure.len(), |e| e + 9)];
        let code = cell
            .find("<code")
            .and_then(|at| cell[at..].find('>').map(|gt| at + gt + 1))
            .map(|start| &cell[start..start + cell[start..].find("</code>").unwrap_or(0)])
            .unwrap_or("");
        let text = code
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&amp;", "&");
        found.push((text, figure.to_string()));
    }
    found
}

/// The lines of an SVG's `<text>` elements.
fn svg_texts(svg: &str) -> Vec<String> {
    svg.split("<text")
        .skip(1)
        .filter_map(|t| {
            let start = t.find('>')? + 1;
            let end = t.find("</text>")?;
            Some(
                t[start..end]
                    .trim()
                    .replace("&amp;", "&")
                    .replace("&quot;", "\""),
            )
        })
        .collect()
}

/// A `<rect>` drawn in one of the timeline's bar colours.
fn bars_in(svg: &str) -> usize {
    svg.split("<rect")
        .skip(1)
        .filter(|r| {
            let r = &r[..r.find('>').unwrap_or(r.len())];
            !r.contains("fill=\"#FFFFFF\"") && !r.contains("fill=\"none\"")
        })
        .count()
}

#[test]
fn figures_are_drawn_from_the_run_their_cell_shows() {
    let built = built();
    let mut looked = 0;
    for (chapter, demo) in [
        ("05-what-is-a-pool.html", None),
        ("06-creating-a-pool.html", Some("pool")),
        ("07-four-processes.html", Some("four")),
        ("10-crashes.html", Some("crash")),
    ] {
        let page = std::fs::read_to_string(built.dest.join(chapter)).expect("a chapter");
        let cells = cells_with_figures(&page);
        if demo.is_some() {
            assert!(!cells.is_empty(), "{chapter} has no figure");
        }
        for (text, figure) in cells {
            looked += 1;
            assert!(
                figure.contains("<title") && figure.contains("<desc") && figure.contains("<table>"),
                "{chapter}: a figure without its title, description or data table"
            );
            let labels = svg_texts(&figure);
            // Each lane is named with its process's name and PID: every one of them is a
            // process the output shows under the same name and PID.
            let lanes: Vec<(String, u32)> = labels
                .iter()
                .filter_map(|l| {
                    let (name, rest) = l.split_once(" · pid ")?;
                    let pid = rest.split(' ').next()?.parse().ok()?;
                    Some((name.to_string(), pid))
                })
                .collect();
            assert!(
                !lanes.is_empty(),
                "{chapter}: a figure with no lanes: {labels:?}"
            );
            for (name, pid) in &lanes {
                assert!(
                    text.contains(&format!("[{name} pid {pid}]")),
                    "{chapter}: the figure has {name} (pid {pid}), which the output beside it \
                     does not show:\n{text}"
                );
            }
            // A pool's output has one line per chunk, tagged with its worker: the figure
            // has one bar per chunk, in the lane of the worker that ran it.
            let chunk_lines: Vec<&str> = text
                .lines()
                .filter(|l| l.contains("] square[") || l.contains("finished items"))
                .collect();
            if !chunk_lines.is_empty() {
                assert_eq!(
                    bars_in(&figure),
                    chunk_lines.len(),
                    "{chapter}: one bar per chunk the output shows:\n{text}"
                );
                for (name, pid) in &lanes {
                    let tag = format!("[{name} pid {pid}]");
                    let ran = chunk_lines.iter().filter(|l| l.starts_with(&tag)).count();
                    let label = labels
                        .iter()
                        .skip_while(|l| !l.starts_with(&format!("{name} · pid {pid}")))
                        .skip(1)
                        .take_while(|l| !l.contains(" · pid "))
                        .find(|l| l.starts_with("items "));
                    let listed = label.map_or(0, |l| {
                        let n = l.matches("..").count();
                        n + l
                            .split(" and ")
                            .nth(1)
                            .and_then(|m| m.split(' ').next()?.parse::<usize>().ok())
                            .unwrap_or(0)
                    });
                    assert_eq!(
                        listed, ran,
                        "{chapter}: {name}'s lane lists {listed} chunks, the output {ran}"
                    );
                }
            }
            if demo == Some("crash") {
                // The crash and its replacement: the output's "replaced" line is in the figure.
                let replaced = text
                    .lines()
                    .find(|l| l.contains(" replaced "))
                    .expect("the crash demo reports the replacement");
                let old_pid = support::pids_in(replaced.split(" replaced ").nth(1).unwrap());
                assert!(
                    labels.iter().any(|l| l.starts_with("replaces ")
                        && old_pid.iter().any(|p| l.contains(&format!("pid {p}")))),
                    "{chapter}: the figure does not show {replaced}: {labels:?}"
                );
                assert!(
                    labels.iter().any(|l| l.contains("killed by SIGABRT")),
                    "{chapter}: no killed worker in the figure: {labels:?}"
                );
            }
        }
    }
    assert!(looked >= 4, "only {looked} figures looked at");
}

#[test]
fn chapter_2_draws_the_counters_of_the_run_beside_it() {
    let built = built();
    let page = std::fs::read_to_string(built.dest.join("02-processes-vs-threads.html"))
        .expect("chapter 2");
    let cells = cells_with_figures(&page);
    let (text, figure) = cells
        .iter()
        .find(|(_, f)| f.contains("One shared memory, separate memories"))
        .expect("chapter 2 has the memory figure");
    let labels = svg_texts(figure);
    // A memory per process, named with the name and PID the output tags it with, and the
    // COUNTER the output says that process saw.
    let memories: Vec<&String> = labels.iter().filter(|l| l.contains(" · pid ")).collect();
    assert_eq!(
        memories.len(),
        2 + 3,
        "the parent twice, each child once: {labels:?}"
    );
    for memory in &memories {
        let (name, pid) = memory.split_once(" · pid ").expect("a name and a pid");
        let tag = format!("[{name} pid {pid}]");
        assert!(
            text.contains(&tag),
            "{tag} is drawn but not in the output:\n{text}"
        );
        if name.starts_with("Process-") {
            let said = text
                .lines()
                .find(|l| l.starts_with(&tag) && l.contains("COUNTER is "))
                .and_then(|l| l.split("COUNTER is ").nth(1)?.split(' ').next())
                .expect("the child says what it counted");
            assert!(
                labels.contains(&format!("COUNTER = {said}, in its own copy")),
                "{tag} said {said}; the figure: {labels:?}"
            );
        }
    }
    let parent_says = |after: &str| {
        text.lines()
            .find(|l| l.contains(after))
            .and_then(|l| l.split("COUNTER = ").nth(1)?.split([';', ' ']).next())
            .map(str::to_string)
            .expect("the parent says its COUNTER")
    };
    let shared = parent_says("after the threads:");
    assert!(
        labels.contains(&format!("COUNTER = {shared}, from all 3 threads")),
        "{labels:?}"
    );
    let kept = parent_says("after the processes:");
    assert!(
        labels.contains(&format!("COUNTER = {kept}, as the threads left it")),
        "{labels:?}"
    );
}

#[test]
fn chapter_3_draws_the_simulated_gils_turns_of_its_own_run() {
    let built = built();
    let page = std::fs::read_to_string(built.dest.join("03-the-gil.html")).expect("chapter 3");
    let cells = cells_with_figures(&page);
    // The figures of demo gil's cell follow its output; the first is the speedups'.
    let (text, _) = cells
        .iter()
        .find(|(t, _)| t.contains(" threads + GIL"))
        .expect("chapter 3 has demo gil's cell, with its figures");
    let at = page
        .find("The simulated GIL changing hands</title>")
        .expect("the figure's title");
    let figure = &page[at..at + page[at..].find("</figure>").expect("a whole figure")];
    // A lane per thread of the run the output reports ("Rust, N threads + GIL").
    let threads: usize = text
        .lines()
        .find(|l| l.starts_with("Rust, ") && l.contains(" threads + GIL"))
        .and_then(|l| l["Rust, ".len()..].split(' ').next()?.parse().ok())
        .expect("the output names the threads + GIL run");
    let lanes: Vec<String> = svg_texts(figure)
        .into_iter()
        .filter(|l| l.starts_with("thread ") && l.contains(" · tid "))
        .collect();
    assert_eq!(lanes.len(), threads, "{lanes:?}");
    // A bar per turn in the table, and the turns, in order, never overlap.
    let rows: Vec<Vec<String>> = figure
        .split("<tr><td>")
        .skip(1)
        .map(|r| {
            r.split("</td>")
                .map(|c| c.trim_start_matches("<td>").to_string())
                .take(4)
                .collect()
        })
        .collect();
    assert!(rows.len() >= 2, "fewer than two turns drawn: {figure}");
    let bars = figure
        .split("<rect")
        .skip(1)
        .filter(|r| !r[..r.find('>').unwrap_or(r.len())].contains("fill=\"#FFFFFF\""))
        .count();
    assert_eq!(bars, rows.len(), "a bar per turn");
    let spans: Vec<(f64, f64)> = rows
        .iter()
        .map(|r| (r[2].parse().expect("from"), r[3].parse().expect("to")))
        .collect();
    for pair in spans.windows(2) {
        assert!(
            pair[0].1 <= pair[1].0,
            "two threads held the GIL at once: {pair:?}"
        );
    }
    assert!(
        figure.contains("At no moment did two threads hold it"),
        "{figure}"
    );
}

#[test]
fn chapter_8_draws_the_process_tree_of_the_run_beside_it() {
    let built = built();
    let page =
        std::fs::read_to_string(built.dest.join("08-start-methods.html")).expect("chapter 8");
    let cells = cells_with_figures(&page);
    let (text, figure) = cells
        .iter()
        .find(|(_, f)| f.contains("Who started whom: spawn and fork</title>"))
        .expect("chapter 8 has the process tree of demo start-methods");
    assert!(
        figure.contains("<desc") && figure.contains("<table>"),
        "a tree without its description or data table"
    );
    // Every box is a process the output beside it names, with the same PID: the named ones by
    // their tag, the forked ones by the PIDs the fork helper printed.
    let boxes: Vec<(String, u32)> = svg_texts(figure)
        .iter()
        .filter_map(|l| {
            let (name, pid) = l.split_once(" · pid ")?;
            Some((name.to_string(), pid.parse().ok()?))
        })
        .collect();
    let tags = support::pids_in(text);
    assert!(boxes.len() >= 5, "too few processes drawn: {boxes:?}");
    for (name, pid) in &boxes {
        if name == "fork child" {
            assert!(
                text.contains(&format!("pid {pid}")),
                "the tree has a fork child pid {pid} the output does not show:\n{text}"
            );
        } else {
            assert!(
                text.contains(&format!("[{name} pid {pid}]")),
                "the tree has {name} (pid {pid}), which the output does not show:\n{text}"
            );
        }
    }
    // Every process the output tags is in the tree.
    for pid in tags {
        assert!(
            boxes.iter().any(|(_, p)| *p == pid),
            "pid {pid} is in the output but not in the tree: {boxes:?}"
        );
    }
    // One line per child: the table lists each process with its parent, and every parent
    // but the root's is a process of the tree.
    let rows = figure.matches("<tr>").count() - 1;
    assert_eq!(rows, boxes.len(), "a table row per box");
    let edges = figure
        .split("<polyline")
        .filter(|p| p.contains("stroke-width=\"2\""))
        .count();
    assert_eq!(
        edges,
        boxes.len() - 1,
        "a line from each child to its parent"
    );

    // The Python script's cell has its tree too, drawn from what it printed: a box per PID
    // it printed, and the fork server in between when a child's os.getppid() was not the
    // main program. (Without python3 the cell has no output and no figure.)
    let Some((text, figure)) = cells
        .iter()
        .find(|(_, f)| f.contains("Who started whom: fork, spawn and forkserver</title>"))
    else {
        assert!(
            !page.contains("main program: pid "),
            "Python's start methods ran but have no tree"
        );
        return;
    };
    let boxes: Vec<(String, u32)> = svg_texts(figure)
        .iter()
        .filter_map(|l| {
            let (name, pid) = l.split_once(" · pid ")?;
            Some((name.to_string(), pid.parse().ok()?))
        })
        .collect();
    assert!(boxes.len() >= 3, "too few processes drawn: {boxes:?}");
    for (name, pid) in &boxes {
        assert!(
            text.contains(&format!(" {pid}")),
            "{name} (pid {pid}) is drawn but Python did not print it:\n{text}"
        );
    }
    let main = support::pids_in(
        text.lines()
            .find(|l| l.starts_with("main program:"))
            .expect("the main program's line"),
    );
    let server_shown = text
        .lines()
        .filter_map(|l| l.split("os.getppid() ").nth(1))
        .filter_map(|r| r.split(',').next()?.parse::<u32>().ok())
        .any(|ppid| !main.contains(&ppid));
    assert_eq!(
        boxes.iter().any(|(name, _)| name == "fork server"),
        server_shown,
        "the fork server is drawn exactly when a child's parent was not the main program: \
         {boxes:?}\n{text}"
    );
}

#[test]
fn chapter_3_shows_the_load_of_its_own_gil_run() {
    assert_a_load_figure("03-the-gil.html");
}

#[test]
fn chapter_1_shows_the_load_while_the_sys_demo_s_workers_count() {
    let page = assert_a_load_figure("01-what-is-multiprocessing.html");
    assert!(
        page.contains(" counted primes ("),
        "the capture beside it is the busy sys demo"
    );
}

/// The page's per-core load figure: a line per core through every sample, a table row per
/// sample. Returns the page.
fn assert_a_load_figure(file: &str) -> String {
    let built = built();
    let page = std::fs::read_to_string(built.dest.join(file)).expect(file);
    let at = page
        .find("Per-core load during the run</title>")
        .unwrap_or_else(|| panic!("{file} has the per-core load figure"));
    let figure = &page[at..at + page[at..].find("</figure>").expect("a whole figure")];
    // "N samples a quarter second apart": one table row per sample, one line per core.
    let samples: usize = figure
        .split(" samples a quarter second apart")
        .next()
        .and_then(|s| s.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .expect("the description counts the samples");
    assert!(samples >= 2, "{samples} samples");
    assert_eq!(figure.matches("<tr>").count(), samples + 1, "{figure}");
    let cores = figure.matches("<th>core ").count();
    let lines = figure
        .split("<polyline")
        .filter(|p| p.contains("stroke-width=\"3\""))
        .count();
    assert_eq!(
        lines,
        2 * cores,
        "a line and a legend mark per core: {figure}"
    );
    page
}
