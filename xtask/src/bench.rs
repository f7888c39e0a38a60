//! `cargo xtask bench`: builds the mock binary, runs every benchmark of
//! `sendmux-benches`, and prints one summary table (figure, baseline, ratio,
//! target) from criterion's estimates and the custom benches' JSON results.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// Runs the benchmarks (unless `summary_only`) and prints the summary.
pub(crate) fn run(root: &Path, summary_only: bool) -> Result<(), String> {
    if !summary_only {
        cargo(
            root,
            &[
                "build",
                "--release",
                "--quiet",
                "-p",
                "sendmux-mock",
                "--bin",
                "sendmux-mock",
            ],
        )?;
        cargo(root, &["bench", "-p", "sendmux-benches"])?;
        instruction_counts(root)?;
    }
    let summary = summary(&target_dir(root))?;
    eprintln!("{summary}");
    Ok(())
}

/// Only the callgrind instruction counts (minutes, not the whole suite),
/// then the summary of whatever results exist.
pub(crate) fn run_instructions(root: &Path) -> Result<(), String> {
    instruction_counts(root)?;
    let path = target_dir(root).join("bench-results/instructions.json");
    let text =
        std::fs::read_to_string(&path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    let counts: Value = serde_json::from_str(&text).map_err(|e| format!("{e}"))?;
    let count = |name: &str| counts[name].as_f64().unwrap_or(f64::NAN);
    eprintln!(
        "instructions per GET call: (a) reqwest+serde {:.0}, (b) sendmux-api {:.0}, (c) sendmux-client {:.0}; a/c {:.3}, a/b {:.3}",
        count("a"),
        count("b"),
        count("c"),
        count("a") / count("c"),
        count("a") / count("b")
    );
    eprintln!(
        "instructions per decoded page: typed {:.0}, Value {:.0}, hand-written {:.0}; Value/typed {:.2}x",
        count("typed"),
        count("value"),
        count("hand"),
        count("value") / count("typed")
    );
    eprintln!(
        "instructions per send (mock included): reqwest+serde {:.0}, sendmux-client {:.0}; plain/client {:.3}",
        count("plain"),
        count("client"),
        count("plain") / count("client")
    );
    Ok(())
}

/// Instruction counts under callgrind, repeatable where wall-clock ratios
/// on a shared machine are not: per GET-domain call of (a), (b) and (c),
/// and per decoded 100-domain page of each model. Two runs per variant with
/// different repeat counts; the difference cancels start-up. Skipped
/// without valgrind.
fn instruction_counts(root: &Path) -> Result<(), String> {
    if Command::new("valgrind").arg("--version").output().is_err() {
        eprintln!("valgrind not found: skipping the instruction counts");
        return Ok(());
    }
    let target = target_dir(root);
    std::fs::create_dir_all(target.join("bench-results"))
        .map_err(|e| format!("cannot create bench-results: {e}"))?;
    let mut figures = serde_json::Map::new();
    let probes: [(&str, &[&str], [u64; 2]); 3] = [
        ("sequential_calls", &["a", "b", "c"], [500, 1_500]),
        ("decode_pages", &["typed", "value", "hand"], [20, 60]),
        ("sequential_sends", &["plain", "client"], [200, 600]),
    ];
    for (example, variants, [few, many]) in probes {
        cargo(
            root,
            &[
                "build",
                "--release",
                "--quiet",
                "-p",
                "sendmux-benches",
                "--example",
                example,
            ],
        )?;
        let probe = target.join("release/examples").join(example);
        for variant in variants {
            let mut counts = Vec::new();
            for repeats in [few, many] {
                counts.push(callgrind_instructions(&target, &probe, variant, repeats)?);
            }
            let per_repeat = counts[1].saturating_sub(counts[0]) as f64 / (many - few) as f64;
            figures.insert((*variant).into(), per_repeat.into());
        }
    }
    std::fs::write(
        target.join("bench-results/instructions.json"),
        Value::Object(figures).to_string(),
    )
    .map_err(|e| format!("cannot write the instruction counts: {e}"))
}

/// Total instructions of `probe variant repeats` under callgrind.
fn callgrind_instructions(
    target: &Path,
    probe: &Path,
    variant: &str,
    repeats: u64,
) -> Result<u64, String> {
    let out_file = target.join(format!("bench-results/callgrind.{variant}.{repeats}"));
    let output = Command::new("valgrind")
        .arg("--tool=callgrind")
        .arg(format!("--callgrind-out-file={}", out_file.display()))
        .arg(probe)
        .args([variant, &repeats.to_string()])
        .output()
        .map_err(|e| format!("cannot run valgrind: {e}"))?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    stderr
        .lines()
        .find_map(|line| line.split_once("I   refs:"))
        .and_then(|(_, n)| n.trim().replace(',', "").parse::<u64>().ok())
        .ok_or_else(|| format!("no instruction count from callgrind:\n{stderr}"))
}

fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
}

fn cargo(root: &Path, args: &[&str]) -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args(args)
        .current_dir(root)
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`cargo {}` failed", args.join(" ")))
    }
}

fn read_json(path: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        format!(
            "{} is missing ({e}); run `cargo xtask bench` first",
            path.display()
        )
    })?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Mean time per iteration in seconds of one criterion benchmark.
fn criterion_mean_seconds(target: &Path, group: &str, function: &str) -> Result<f64, String> {
    let estimates = read_json(
        &target
            .join("criterion")
            .join(group)
            .join(function)
            .join("new/estimates.json"),
    )?;
    estimates["mean"]["point_estimate"]
        .as_f64()
        .map(|ns| ns / 1e9)
        .ok_or_else(|| format!("no mean estimate for {group}/{function}"))
}

struct Row {
    figure: String,
    value: String,
    baseline: String,
    ratio: String,
    target: String,
}

fn summary(target: &Path) -> Result<String, String> {
    let mut rows = Vec::new();
    let per_second = |seconds: f64, items: f64| items / seconds;
    let met = |ok: bool| if ok { "met" } else { "MISSED" };

    // Interleaved rounds (see benches/overhead.rs): medians of per-round
    // ratios are robust to drift on a shared machine.
    let mut rounds = Vec::new();
    for round in 1.. {
        let group = format!("overhead_get_domain_r{round}");
        let Ok(a) = criterion_mean_seconds(target, &group, "a_reqwest_serde") else {
            break;
        };
        let a2 = criterion_mean_seconds(target, &group, "a2_reqwest_serde_timeout")?;
        let b = criterion_mean_seconds(target, &group, "b_sendmux_api")?;
        let c = criterion_mean_seconds(target, &group, "c_sendmux_client")?;
        // Indexed by the variant constants below.
        rounds.push([a, b, c, a2].map(|seconds| per_second(seconds, 64.0)));
    }
    if rounds.is_empty() {
        return Err("no overhead_get_domain_r* results; run `cargo xtask bench` first".into());
    }
    let median = |mut values: Vec<f64>| {
        values.sort_by(f64::total_cmp);
        values[values.len() / 2]
    };
    let spread = |ratios: &[f64]| {
        let low = ratios.iter().copied().fold(f64::INFINITY, f64::min);
        let high = ratios.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        format!("{low:.2}..{high:.2}")
    };
    const A: usize = 0;
    const B: usize = 1;
    const C: usize = 2;
    const A2: usize = 3;
    // (short name, description) per variant.
    let variants = [
        ("a", "(a) reqwest+serde"),
        ("b", "(b) sendmux-api"),
        ("c", "(c) sendmux-client"),
        ("a2", "(a2) reqwest+serde+timeout"),
    ];
    let n = rounds.len();
    for (measured, baseline, target) in [(B, A, None), (C, A, Some(0.97)), (C, A2, None)] {
        let value = median(rounds.iter().map(|r| r[measured]).collect());
        let base = median(rounds.iter().map(|r| r[baseline]).collect());
        let ratios: Vec<f64> = rounds.iter().map(|r| r[measured] / r[baseline]).collect();
        let ratio = median(ratios.clone());
        rows.push(Row {
            figure: format!("GET domain, 64 concurrent: {}", variants[measured].1),
            value: format!("{value:.0} req/s"),
            baseline: format!("{} {base:.0} req/s", variants[baseline].1),
            ratio: format!(
                "{}/{} {ratio:.3} (median of {n} rounds, {})",
                variants[measured].0,
                variants[baseline].0,
                spread(&ratios)
            ),
            target: target
                .map(|t| format!(">= {t}: {}", met(ratio >= t)))
                .unwrap_or_default(),
        });
    }
    // Optional: present when valgrind was available.
    if let Ok(counts) = read_json(&target.join("bench-results/instructions.json")) {
        let count = |v: &str| counts[v].as_f64().unwrap_or(f64::NAN);
        for (variant, name) in [("b", "sendmux-api"), ("c", "sendmux-client")] {
            rows.push(Row {
                figure: format!("instructions per GET call (callgrind): ({variant}) {name}"),
                value: format!("{:.0}", count(variant)),
                baseline: format!("(a) reqwest+serde {:.0}", count("a")),
                ratio: format!("a/{variant} {:.3}", count("a") / count(variant)),
                target: String::new(),
            });
        }
    }

    let group = "overhead_create_domain";
    let explicit = per_second(
        criterion_mean_seconds(target, group, "b_sendmux_api_explicit_key")?,
        1.0,
    );
    let auto = per_second(
        criterion_mean_seconds(target, group, "c_sendmux_client_auto_key")?,
        1.0,
    );
    rows.push(Row {
        figure: "POST create, auto idempotency key (client)".into(),
        value: format!("{auto:.0} req/s"),
        baseline: format!("sendmux-api, fixed key {explicit:.0} req/s"),
        ratio: format!("{:.3}", auto / explicit),
        target: String::new(),
    });

    // Decode rounds are interleaved like the overhead ones; each figure is
    // the median over rounds, each ratio the median of per-round ratios.
    let mut decode_rounds = Vec::new();
    for round in 1.. {
        let group = format!("decode_page_100_r{round}");
        let Ok(typed) = criterion_mean_seconds(target, &group, "typed_sendmux_api") else {
            break;
        };
        decode_rounds.push([
            typed,
            criterion_mean_seconds(target, &group, "serde_json_value")?,
            criterion_mean_seconds(target, &group, "hand_struct")?,
            criterion_mean_seconds(target, &group, "minimal_struct")?,
        ]);
    }
    if decode_rounds.is_empty() {
        return Err("no decode_page_100_r* results; run `cargo xtask bench` first".into());
    }
    let n = decode_rounds.len();
    let typed = median(decode_rounds.iter().map(|r| r[0]).collect());
    for (index, name, target_ratio) in [
        (1, "serde_json::Value", Some(2.0)),
        (2, "hand-written struct, every field", None),
        (3, "minimal struct (id, name)", None),
    ] {
        let base = median(decode_rounds.iter().map(|r| r[index]).collect());
        let ratios: Vec<f64> = decode_rounds.iter().map(|r| r[index] / r[0]).collect();
        let ratio = median(ratios.clone());
        rows.push(Row {
            figure: "decode 100-domain page into typed models".into(),
            value: format!("{:.0} us", typed * 1e6),
            baseline: format!("{name} {:.0} us", base * 1e6),
            ratio: format!(
                "{name_short}/typed {ratio:.2} (median of {n} rounds, {})",
                spread(&ratios),
                name_short = ["", "value", "hand", "minimal"][index]
            ),
            target: target_ratio
                .map(|t| format!(">= {t}: {}", met(ratio >= t)))
                .unwrap_or_default(),
        });
    }
    // Optional: present when valgrind was available.
    if let Ok(counts) = read_json(&target.join("bench-results/instructions.json")) {
        let count = |model: &str| counts[model].as_f64().unwrap_or(f64::NAN);
        for (model, name) in [
            ("value", "serde_json::Value"),
            ("hand", "hand-written struct"),
        ] {
            rows.push(Row {
                figure: "instructions per decoded page (callgrind): typed".into(),
                value: format!("{:.0}", count("typed")),
                baseline: format!("{name} {:.0}", count(model)),
                ratio: format!("{model}/typed {:.2}", count(model) / count("typed")),
                target: String::new(),
            });
        }
    }

    // Sends through the mock, interleaved like the overhead rounds.
    let mut send_rounds = Vec::new();
    for round in 1.. {
        let group = format!("send_r{round}");
        let Ok(plain) = criterion_mean_seconds(target, &group, "plain_reqwest_serde") else {
            break;
        };
        send_rounds.push([
            plain,
            criterion_mean_seconds(target, &group, "sendmux_client")?,
        ]);
    }
    if !send_rounds.is_empty() {
        const SENDS: f64 = 32.0;
        let n = send_rounds.len();
        let plain = median(
            send_rounds
                .iter()
                .map(|r| per_second(r[0], SENDS))
                .collect(),
        );
        let client = median(
            send_rounds
                .iter()
                .map(|r| per_second(r[1], SENDS))
                .collect(),
        );
        // Time ratio plain/client is the throughput ratio client/plain.
        let ratios: Vec<f64> = send_rounds.iter().map(|r| r[0] / r[1]).collect();
        rows.push(Row {
            figure: "send through the mock, 32 concurrent: sendmux-client".into(),
            value: format!("{client:.0} req/s"),
            baseline: format!("reqwest+serde {plain:.0} req/s"),
            ratio: format!(
                "client/plain {:.3} (median of {n} rounds, {})",
                median(ratios.clone()),
                spread(&ratios)
            ),
            target: String::new(),
        });
    }
    if let Ok(counts) = read_json(&target.join("bench-results/instructions.json")) {
        let count = |v: &str| counts[v].as_f64().unwrap_or(f64::NAN);
        if counts.get("client").is_some() {
            rows.push(Row {
                figure: "instructions per send, mock included (callgrind): sendmux-client".into(),
                value: format!("{:.0}", count("client")),
                baseline: format!("reqwest+serde {:.0}", count("plain")),
                ratio: format!("plain/client {:.3}", count("plain") / count("client")),
                target: String::new(),
            });
        }
    }

    let paginate = read_json(&target.join("bench-results/paginate.json"))?;
    rows.push(Row {
        figure: format!("stream {} domains (1,000 pages)", paginate["items"]),
        value: format!(
            "{:.0} items/s",
            paginate["items_per_second"].as_f64().unwrap_or(f64::NAN)
        ),
        baseline: String::new(),
        ratio: String::new(),
        target: String::new(),
    });
    // Peak growth against three yardsticks, then the SDK's share (growth
    // over plain reqwest) against the target's two pages of JSON.
    let bytes = |key: &str| paginate[key].as_u64().unwrap_or(0);
    let growth = bytes("peak_growth_bytes");
    let two_pages = bytes("page_bytes") * 2;
    let memory_rows = [
        (
            "peak memory growth while streaming",
            growth,
            "2 pages of JSON",
            two_pages,
            true,
        ),
        (
            "peak memory growth while streaming",
            growth,
            "2 decoded pages",
            bytes("page_footprint_bytes") * 2,
            false,
        ),
        (
            "peak memory growth while streaming",
            growth,
            "plain reqwest, same pages as bytes",
            bytes("transport_growth_bytes"),
            false,
        ),
        (
            "the SDK's share of that growth (over plain reqwest)",
            bytes("sdk_growth_bytes"),
            "2 pages of JSON",
            two_pages,
            true,
        ),
    ];
    for (figure, value, baseline, baseline_bytes, targeted) in memory_rows {
        let ratio = value as f64 / baseline_bytes as f64;
        rows.push(Row {
            figure: figure.into(),
            value: format!("{value} B"),
            baseline: format!("{baseline} = {baseline_bytes} B"),
            ratio: format!("{ratio:.2}"),
            target: if targeted {
                format!("< 1: {}", met(ratio < 1.0))
            } else {
                String::new()
            },
        });
    }

    let mock = read_json(&target.join("bench-results/mock_throughput.json"))?;
    let mock_rps = mock["mock_per_second"].as_f64().unwrap_or(f64::NAN);
    let baseline_rps = mock["baseline_per_second"].as_f64().unwrap_or(f64::NAN);
    let p99_us = mock["mock_p99_us"].as_u64().unwrap_or(u64::MAX);
    rows.push(Row {
        figure: format!(
            "sendmux-mock GET domain ({})",
            mock["how"].as_str().unwrap_or("?")
        ),
        value: format!("{mock_rps:.0} req/s"),
        baseline: format!("canned server {baseline_rps:.0} req/s"),
        ratio: format!("{:.2}", mock_rps / baseline_rps),
        target: format!(">= 20000: {}", met(mock_rps >= 20_000.0)),
    });
    rows.push(Row {
        figure: "sendmux-mock GET domain p99 latency".into(),
        value: format!("{:.2} ms", p99_us as f64 / 1000.0),
        baseline: format!(
            "canned server {:.2} ms",
            mock["baseline_p99_us"].as_u64().unwrap_or(0) as f64 / 1000.0
        ),
        ratio: String::new(),
        target: format!("< 5 ms: {}", met(p99_us < 5_000)),
    });

    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let mut out = format!("\nBenchmark summary ({cores} cores)\n\n");
    let header = Row {
        figure: "figure".into(),
        value: "value".into(),
        baseline: "baseline (same run)".into(),
        ratio: "ratio".into(),
        target: "target".into(),
    };
    let widths = rows.iter().chain([&header]).fold([0; 4], |w, r| {
        [
            w[0].max(r.figure.len()),
            w[1].max(r.value.len()),
            w[2].max(r.baseline.len()),
            w[3].max(r.ratio.len()),
        ]
    });
    let separator = Row {
        figure: "-".repeat(widths[0]),
        value: "-".repeat(widths[1]),
        baseline: "-".repeat(widths[2]),
        ratio: "-".repeat(widths[3]),
        target: "---".into(),
    };
    for row in [&header, &separator].into_iter().chain(rows.iter()) {
        let _ = writeln!(
            out,
            "| {:w0$} | {:w1$} | {:w2$} | {:w3$} | {} |",
            row.figure,
            row.value,
            row.baseline,
            row.ratio,
            row.target,
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2],
            w3 = widths[3]
        );
    }
    Ok(out)
}
