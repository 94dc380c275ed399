//! Benchmark: matching one face against a large gallery on one core.
//! Run: `cargo bench -p vision --bench matching [-- ROWS]` (default 100,000 512-d embeddings).
//! Prints the time per match (median of 50) and, for comparison, a plain `f32` pass.

use std::time::Instant;

use vision::gallery::{Gallery, dot};

const DIMENSIONS: usize = 512;
const DEFAULT_ROWS: usize = 100_000;
const REPEATS: usize = 50;

/// A deterministic pseudo-random unit vector.
fn unit(seed: u64) -> Vec<f32> {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut v: Vec<f32> = (0..DIMENSIONS)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 33) as f32 / (1u64 << 31) as f32) - 0.5
        })
        .collect();
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.iter_mut().for_each(|x| *x /= norm);
    v
}

fn median(mut times: Vec<f64>) -> f64 {
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

fn main() {
    let rows: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(DEFAULT_ROWS);
    let mut gallery = Gallery::new("bench", DIMENSIONS);
    let mut plain = Vec::with_capacity(rows * DIMENSIONS);
    for i in 0..rows {
        let v = unit(i as u64);
        plain.extend_from_slice(&v);
        gallery.add(format!("E{i}"), &v).expect("row");
    }
    // The query: a noisy copy of one row, as a new photo of an enrolled person would be.
    let target = rows / 3;
    let mut query = unit(target as u64);
    let noise = unit(u64::MAX - 7);
    query
        .iter_mut()
        .zip(&noise)
        .for_each(|(q, n)| *q += 0.8 * n);
    let norm = query.iter().map(|x| x * x).sum::<f32>().sqrt();
    query.iter_mut().for_each(|x| *x /= norm);

    let mut times = Vec::new();
    let mut found = None;
    for _ in 0..REPEATS {
        let started = Instant::now();
        let m = gallery.best_match(&query).expect("a match");
        times.push(started.elapsed().as_secs_f64() * 1_000.0);
        found = Some((m.owner.to_owned(), m.score));
    }
    let (owner, score) = found.expect("matched");
    let mut plain_times = Vec::new();
    let mut plain_best = (0, f32::MIN);
    for _ in 0..REPEATS / 5 {
        let started = Instant::now();
        plain_best = (0, f32::MIN);
        for (i, row) in plain.chunks_exact(DIMENSIONS).enumerate() {
            let s = dot(row, &query);
            if s > plain_best.1 {
                plain_best = (i, s);
            }
        }
        plain_times.push(started.elapsed().as_secs_f64() * 1_000.0);
    }
    println!("matching one face against {rows} enrolled {DIMENSIONS}-d embeddings, one core");
    println!(
        "  gallery (8-bit pass + exact re-score): {:.2} ms per match (median of {REPEATS}); found {owner} at {score:.4} (target 5 ms)",
        median(times)
    );
    println!(
        "  plain f32 pass over every row:         {:.2} ms per match; found E{} at {:.4}",
        median(plain_times),
        plain_best.0,
        plain_best.1
    );
    assert_eq!(
        owner,
        format!("E{}", plain_best.0),
        "both passes find the same row"
    );
}
