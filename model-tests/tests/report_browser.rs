//! The HTML report in a real browser: headless Chromium renders the page of
//! docs/tour.in/divergence.trace (a swapped pair of CQEs in the last reap) and of a
//! golden trace that agrees; the divergent page must show its marker (DOM) and red
//! pixels where the marker is (screenshot), the agreeing page none.
//!
//! Needs Debian's `chromium` (or `MSGRING_CHROMIUM=/path`). Without it the test says so
//! loudly and passes, unless `MSGRING_REQUIRE_BROWSER=1` (CI), where it fails.
//! `MSGRING_UPDATE_SCREENSHOT=1` also writes the divergent page's screenshot to
//! docs/report.png.

use msgring::report::{self, ReportInput};
use msgring::trace;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn chromium() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("MSGRING_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .flat_map(|n| std::env::split_paths(&path).map(move |d| d.join(n)))
        .find(|p| p.is_file())
}

/// Runs chromium headless on `page` with `args`, killed after 90 s; returns stdout.
fn run_chromium(bin: &Path, profile: &Path, args: &[String], page: &Path) -> Vec<u8> {
    let mut cmd = Command::new(bin);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
    ])
    .arg(format!("--user-data-dir={}", profile.display()))
    .args(args)
    .arg(format!("file://{}", page.display()))
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::null());
    let mut child = cmd.spawn().expect("chromium starts");
    let mut stdout = child.stdout.take().expect("piped");
    let reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        std::io::Read::read_to_end(&mut stdout, &mut v).map(|_| v)
    });
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            assert!(status.success(), "chromium failed: {status}");
            break;
        }
        if start.elapsed() > Duration::from_secs(90) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish in 90 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    reader.join().expect("reader").expect("stdout")
}

/// Renders `file` against its annotations into `dir`; returns the page's path.
fn page(dir: &Path, file: &str) -> (PathBuf, Option<usize>) {
    let path = root().join(file);
    let src = std::fs::read_to_string(&path).expect("trace");
    let t = trace::parse_file(file, &src).expect("parses");
    let run = report::model_run(&t, t.profile.unwrap_or_default());
    let input = ReportInput::against_annotations(file, &t, &run);
    let out = dir.join(format!("{}.html", file.replace('/', "_")));
    std::fs::write(&out, report::render(&input)).expect("write page");
    (out, input.divergence)
}

struct Pixels {
    width: u32,
    height: u32,
    /// Fraction of pixels that are not (near) white.
    ink: f64,
    /// Strong red pixels (the divergence marker, band edges, field chips).
    red: usize,
    /// The topmost row with a strong red pixel.
    first_red_row: Option<u32>,
}

fn pixels(png_bytes: &[u8]) -> Pixels {
    let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    let mut reader = decoder.read_info().expect("a PNG");
    let mut buf = vec![0; reader.output_buffer_size().expect("size")];
    let info = reader.next_frame(&mut buf).expect("a frame");
    let bytes = &buf[..info.buffer_size()];
    let channels = info.color_type.samples();
    assert!(
        channels >= 3,
        "colour screenshot, got {:?}",
        info.color_type
    );
    let (mut ink, mut red, mut first_red_row) = (0usize, 0usize, None);
    for (i, px) in bytes.chunks(channels).enumerate() {
        let (r, g, b) = (px[0], px[1], px[2]);
        if r < 235 || g < 235 || b < 235 {
            ink += 1;
        }
        if r > 190 && g < 80 && b < 80 {
            red += 1;
            first_red_row.get_or_insert(i as u32 / info.width);
        }
    }
    Pixels {
        width: info.width,
        height: info.height,
        ink: ink as f64 / (info.width as f64 * info.height as f64),
        red,
        first_red_row,
    }
}

#[test]
fn the_divergence_is_visible_in_chromium() {
    let Some(bin) = chromium() else {
        if std::env::var("MSGRING_REQUIRE_BROWSER").is_ok_and(|v| v == "1") {
            panic!("chromium not found (MSGRING_REQUIRE_BROWSER=1): apt-get install chromium");
        }
        eprintln!(
            "!!!!! report_browser: SKIPPED: no chromium on PATH (apt-get install chromium) !!!!!"
        );
        return;
    };
    let dir = std::env::temp_dir().join(format!("msgring-report-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let profile = dir.join("profile");
    let size = "--window-size=1400,1100".to_string();

    // The divergent page.
    let (div, d) = page(&dir, "docs/tour.in/divergence.trace");
    assert_eq!(d, Some(15), "the example diverges at its last reap");
    let dom = String::from_utf8(run_chromium(&bin, &profile, &["--dump-dom".into()], &div))
        .expect("UTF-8 DOM");
    assert!(
        dom.contains("id=\"divergence-marker\""),
        "no marker in the DOM"
    );
    assert!(dom.contains("first divergence: step 15"), "marker text");
    for field in ["cqes[2].user_data", "cqes[3].res"] {
        assert!(
            dom.contains(field),
            "the differing field {field} is not named"
        );
    }
    let shot = dir.join("divergence.png");
    run_chromium(
        &bin,
        &profile,
        &[size.clone(), format!("--screenshot={}", shot.display())],
        &div,
    );
    let png_bytes = std::fs::read(&shot).expect("screenshot written");
    let p = pixels(&png_bytes);
    eprintln!(
        "divergent page: {}x{}, ink {:.1}%, {} red pixels, first at row {:?}",
        p.width,
        p.height,
        100.0 * p.ink,
        p.red,
        p.first_red_row
    );
    assert!(
        p.ink > 0.05,
        "the page looks blank ({:.2}% ink)",
        100.0 * p.ink
    );
    assert!(
        p.red > 500,
        "hardly any red: the marker is not drawn ({} px)",
        p.red
    );
    // The verdict box and the marker sit at the top of the page.
    assert!(
        p.first_red_row.is_some_and(|r| r < 250),
        "no red near the top: {:?}",
        p.first_red_row
    );
    if std::env::var("MSGRING_UPDATE_SCREENSHOT").is_ok_and(|v| v == "1") {
        std::fs::write(root().join("docs/report.png"), &png_bytes).expect("docs/report.png");
    }

    // A page that agrees has no red: the colour means a divergence.
    let (ok, d) = page(&dir, "model-tests/traces/r13_overflow_fifo.trace");
    assert_eq!(d, None);
    let shot = dir.join("agree.png");
    run_chromium(
        &bin,
        &profile,
        &[size, format!("--screenshot={}", shot.display())],
        &ok,
    );
    let q = pixels(&std::fs::read(&shot).expect("screenshot written"));
    eprintln!(
        "agreeing page: ink {:.1}%, {} red pixels",
        100.0 * q.ink,
        q.red
    );
    assert!(q.ink > 0.05, "the agreeing page looks blank");
    // Only the legend's 12x12 swatch for "first divergence" is red there.
    assert!(
        q.red <= 200,
        "red on a page without a divergence: {} px",
        q.red
    );
    assert!(
        p.red > 20 * q.red.max(1),
        "the divergence does not stand out"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
