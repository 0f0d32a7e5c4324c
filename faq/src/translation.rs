//! A word translation table learned from the FAQ's own question/answer pairs (IBM Model 1), for the
//! translation-based language model of Q&A retrieval (Xue, Jeon and Croft, SIGIR 2008): a resident's word that the
//! FAQ entry does not use still scores when the entry uses words that questions with that word are answered with.

use std::collections::HashMap;

/// `P(target | source)` for the pairs worth keeping.
#[derive(Debug, Default, Clone)]
pub struct TranslationTable {
    /// source term → [(target term, probability)], most probable first.
    by_source: HashMap<u32, Vec<(u32, f32)>>,
}

/// Smallest probability kept, and most targets kept per source: the tail is noise on a corpus this small.
const MIN_PROBABILITY: f32 = 0.01;
const MAX_TARGETS: usize = 12;
const ITERATIONS: usize = 6;

impl TranslationTable {
    /// Trains both directions (question→answer and answer→question) and pools them, as Xue et al. do: the table says
    /// which words occur on the other side of the same entries.
    pub fn train(pairs: &[(Vec<u32>, Vec<u32>)]) -> Self {
        let forward = ibm_model1(pairs.iter().map(|(q, a)| (q.as_slice(), a.as_slice())));
        let backward = ibm_model1(pairs.iter().map(|(q, a)| (a.as_slice(), q.as_slice())));
        let mut pooled: HashMap<u32, HashMap<u32, f32>> = HashMap::new();
        for table in [forward, backward] {
            for ((source, target), p) in table {
                *pooled.entry(source).or_default().entry(target).or_default() += p / 2.0;
            }
        }
        let by_source = pooled
            .into_iter()
            .map(|(source, targets)| {
                let mut kept: Vec<(u32, f32)> = targets
                    .into_iter()
                    .filter(|&(_, p)| p >= MIN_PROBABILITY)
                    .collect();
                kept.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
                kept.truncate(MAX_TARGETS);
                (source, kept)
            })
            .collect();
        TranslationTable { by_source }
    }

    /// Words the source word translates to, most probable first.
    pub fn targets(&self, source: u32) -> &[(u32, f32)] {
        self.by_source.get(&source).map_or(&[], Vec::as_slice)
    }
}

/// IBM Model 1 by EM over sets of term ids (each side deduplicated: answers are long and repetition is not evidence).
/// Returns `P(target | source)`.
fn ibm_model1<'a>(pairs: impl Iterator<Item = (&'a [u32], &'a [u32])>) -> HashMap<(u32, u32), f32> {
    // Give every co-occurring (source, target) a slot in a flat table; each pair keeps the slots it touches.
    let mut slot_of: HashMap<(u32, u32), usize> = HashMap::new();
    let mut slot_source: Vec<u32> = Vec::new();
    let mut sentences: Vec<(Vec<u32>, Vec<u32>, Vec<usize>)> = Vec::new();
    for (source, target) in pairs {
        let source = dedup(source);
        let target = dedup(target);
        if source.is_empty() || target.is_empty() {
            continue;
        }
        let mut slots = Vec::with_capacity(source.len() * target.len());
        for &t in &target {
            for &s in &source {
                let next = slot_of.len();
                let slot = *slot_of.entry((s, t)).or_insert(next);
                if slot == next {
                    slot_source.push(s);
                }
                slots.push(slot);
            }
        }
        sentences.push((source, target, slots));
    }
    let mut probability = vec![1.0f32; slot_of.len()];
    let mut counts = vec![0.0f32; slot_of.len()];
    let mut totals: HashMap<u32, f32> = HashMap::new();
    for _ in 0..ITERATIONS {
        counts.iter_mut().for_each(|c| *c = 0.0);
        for (source, target, slots) in &sentences {
            for (row, _) in target.iter().enumerate() {
                let row_slots = &slots[row * source.len()..(row + 1) * source.len()];
                let denominator: f32 = row_slots.iter().map(|&slot| probability[slot]).sum();
                if denominator <= 0.0 {
                    continue;
                }
                for &slot in row_slots {
                    counts[slot] += probability[slot] / denominator;
                }
            }
        }
        totals.clear();
        for (slot, &count) in counts.iter().enumerate() {
            *totals.entry(slot_source[slot]).or_default() += count;
        }
        for (slot, p) in probability.iter_mut().enumerate() {
            let total = totals.get(&slot_source[slot]).copied().unwrap_or(0.0);
            *p = if total > 0.0 {
                counts[slot] / total
            } else {
                0.0
            };
        }
    }
    slot_of
        .into_iter()
        .map(|(key, slot)| (key, probability[slot]))
        .collect()
}

fn dedup(terms: &[u32]) -> Vec<u32> {
    let mut unique = terms.to_vec();
    unique.sort_unstable();
    unique.dedup();
    unique
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learns_cooccurring_words() {
        // 1 = 引越し, 2 = 転入届, 3 = ごみ, 4 = 収集日, 5 = 知りたい (everywhere)
        let pairs = vec![
            (vec![1, 5], vec![2]),
            (vec![1], vec![2, 4]),
            (vec![3, 5], vec![4]),
            (vec![3], vec![4]),
        ];
        let table = TranslationTable::train(&pairs);
        let best_for_move = table.targets(1).first().map(|&(t, _)| t);
        assert_eq!(best_for_move, Some(2));
        let best_for_gomi = table.targets(3).first().map(|&(t, _)| t);
        assert_eq!(best_for_gomi, Some(4));
    }
}
