//! The enrolled faces in memory: every embedding of one model as rows of one contiguous
//! matrix, so that matching a face is one pass over memory (cosine similarity = dot product
//! of unit vectors), and the best row wins.

/// A match: whose embedding, and how similar (cosine, −1 to 1).
#[derive(Clone, Debug, PartialEq)]
pub struct Match<'a> {
    pub owner: &'a str,
    pub score: f32,
}

/// A vector of the wrong length for this gallery.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("embedding has {actual} values; the gallery of {model} holds {expected}")]
pub struct DimensionMismatch {
    pub model: String,
    pub expected: usize,
    pub actual: usize,
}

/// The embeddings of one model.
#[derive(Clone, Debug)]
pub struct Gallery {
    model: String,
    dimensions: usize,
    owners: Vec<String>,
    vectors: Vec<f32>,
}

impl Gallery {
    pub fn new(model: impl Into<String>, dimensions: usize) -> Self {
        Self {
            model: model.into(),
            dimensions,
            owners: Vec::new(),
            vectors: Vec::new(),
        }
    }

    pub fn model(&self) -> &str {
        &self.model
    }

    pub fn dimensions(&self) -> usize {
        self.dimensions
    }

    /// Embeddings held.
    pub fn len(&self) -> usize {
        self.owners.len()
    }

    pub fn is_empty(&self) -> bool {
        self.owners.is_empty()
    }

    /// Adds an embedding (unit length expected) of `owner`.
    pub fn add(
        &mut self,
        owner: impl Into<String>,
        vector: &[f32],
    ) -> Result<(), DimensionMismatch> {
        if vector.len() != self.dimensions {
            return Err(DimensionMismatch {
                model: self.model.clone(),
                expected: self.dimensions,
                actual: vector.len(),
            });
        }
        self.owners.push(owner.into());
        self.vectors.extend_from_slice(vector);
        Ok(())
    }

    /// Removes every embedding of `owner`; returns how many there were.
    pub fn remove_owner(&mut self, owner: &str) -> usize {
        let before = self.owners.len();
        let mut keep_owners = Vec::with_capacity(before);
        let mut keep_vectors = Vec::with_capacity(self.vectors.len());
        for (i, o) in self.owners.drain(..).enumerate() {
            if o != owner {
                keep_vectors.extend_from_slice(
                    &self.vectors[i * self.dimensions..(i + 1) * self.dimensions],
                );
                keep_owners.push(o);
            }
        }
        self.owners = keep_owners;
        self.vectors = keep_vectors;
        before - self.owners.len()
    }

    /// The most similar embedding to `query` (unit length), if any.
    pub fn best_match(&self, query: &[f32]) -> Option<Match<'_>> {
        if query.len() != self.dimensions || self.owners.is_empty() {
            return None;
        }
        let mut best = (usize::MAX, f32::NEG_INFINITY);
        for (i, row) in self.vectors.chunks_exact(self.dimensions).enumerate() {
            let score = dot(row, query);
            if score > best.1 {
                best = (i, score);
            }
        }
        Some(Match {
            owner: &self.owners[best.0],
            // Rounding can take unit vectors a hair past 1.
            score: best.1.clamp(-1.0, 1.0),
        })
    }
}

/// The dot product, with eight independent sums so that it vectorises.
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut sums = [0.0f32; 8];
    let chunks = a.len() / 8;
    for k in 0..chunks {
        let (x, y) = (&a[k * 8..k * 8 + 8], &b[k * 8..k * 8 + 8]);
        for j in 0..8 {
            sums[j] += x[j] * y[j];
        }
    }
    let mut total: f32 = sums.iter().sum();
    for k in chunks * 8..a.len() {
        total += a[k] * b[k];
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(values: &[f32]) -> Vec<f32> {
        let norm = values.iter().map(|v| v * v).sum::<f32>().sqrt();
        values.iter().map(|v| v / norm).collect()
    }

    #[test]
    fn the_most_similar_row_wins() {
        let mut gallery = Gallery::new("test", 3);
        gallery.add("ann", &unit(&[1.0, 0.0, 0.0])).unwrap();
        gallery.add("budi", &unit(&[0.0, 1.0, 0.0])).unwrap();
        gallery.add("ann", &unit(&[0.9, 0.1, 0.0])).unwrap();
        let found = gallery.best_match(&unit(&[0.2, 1.0, 0.1])).unwrap();
        assert_eq!(found.owner, "budi");
        assert!((found.score - 0.976).abs() < 0.01);
        assert_eq!(gallery.remove_owner("budi"), 1);
        assert_eq!(
            gallery.best_match(&unit(&[0.2, 1.0, 0.1])).unwrap().owner,
            "ann"
        );
        assert_eq!(gallery.len(), 2);
    }

    #[test]
    fn vectors_of_another_length_are_refused() {
        let mut gallery = Gallery::new("m", 4);
        assert!(gallery.add("x", &[1.0, 0.0]).is_err());
        assert!(gallery.best_match(&[1.0, 0.0]).is_none());
        assert!(Gallery::new("m", 2).best_match(&[1.0, 0.0]).is_none());
    }

    #[test]
    fn dot_handles_every_length() {
        for n in [1usize, 7, 8, 9, 512, 513] {
            let a: Vec<f32> = (0..n).map(|i| i as f32).collect();
            let b = vec![1.0; n];
            assert_eq!(dot(&a, &b), (n * (n - 1) / 2) as f32);
        }
    }
}
