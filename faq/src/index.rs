//! The search index: tantivy (in RAM) retrieves candidates over several analysed fields, then a Rust reranker fuses
//! per-field BM25 scores and a translation-based language model score, each max-normalised, with tuned weights.

use std::collections::{HashMap, HashSet};

use serde::Serialize;
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{BooleanQuery, BoostQuery, Occur, Query, TermQuery};
use tantivy::schema::{FAST, Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions};
use tantivy::tokenizer::TokenizerManager;
use tantivy::{IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

use crate::analysis::{self, DictionaryError, JapaneseTokenizer, TermKind};
use std::sync::Arc;

use crate::encoder::{self, DIMS, EncoderError, KnownVectors, TextKey, text_key};
use crate::model::{Faq, FaqEntry};
use crate::normalize::{QueryLanguage, looks_english, normalize, query_language};
use crate::translation::TranslationTable;
use crate::vectors::{cosine, word_vectors};

/// The index could not be built.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error(transparent)]
    Dictionary(#[from] DictionaryError),
    #[error("tantivy: {0}")]
    Tantivy(#[from] tantivy::TantivyError),
}

/// One ranked entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hit {
    pub id: String,
    pub score: f32,
}

/// An entry offered to a resident.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Suggestion {
    pub entry: FaqEntry,
    pub score: f32,
}

/// What the chat should say.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Answer {
    /// One entry clearly fits (boxed: an entry is large next to the other variants).
    Confident(Box<Suggestion>),
    /// Some entries may fit: offer them as choices (at most three).
    Candidates(Vec<Suggestion>),
    /// Nothing fits: reply politely and log the question as unanswered.
    NoMatch,
}

/// The signals fused into the final score, in the order of [`Params::weights`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// BM25 over base forms of the question, its alternatives and keywords.
    Question,
    /// BM25 over base forms of the answer.
    AnswerText,
    /// BM25 over folded readings of question content words.
    QuestionReading,
    /// BM25 over character bigrams of the question side.
    QuestionBigram,
    /// BM25 over character bigrams of the answer.
    AnswerBigram,
    /// BM25 over bigrams of the question side's whole reading (kana typed for kanji).
    ReadingBigram,
    /// Translation-based language model over question and answer.
    Translation,
    /// Cosine of IDF-weighted mean word vectors of the query and the entry (both sides).
    WordVectors,
    /// Cosine of the multilingual sentence encoder's vectors of the query and the entry (question, and question with
    /// the start of the answer, averaged), less [`Params::semantic_floor`]: paraphrase and other languages.
    Semantic,
    /// Pseudo-relevance feedback: BM25 (question and answer) of the words that weigh most in the entries the other
    /// signals rank first (RM1-style expansion), so an entry that shares their vocabulary rises.
    Feedback,
}

pub const SIGNALS: [Signal; 10] = [
    Signal::Question,
    Signal::AnswerText,
    Signal::QuestionReading,
    Signal::QuestionBigram,
    Signal::AnswerBigram,
    Signal::ReadingBigram,
    Signal::Translation,
    Signal::WordVectors,
    Signal::Semantic,
    Signal::Feedback,
];

/// Index of [`Signal::Semantic`] in [`SIGNALS`].
const SEMANTIC: usize = 8;

/// Ranking and answer-policy parameters. The defaults were tuned by cross-validation (see `dict/README.md`... and
/// `examples/tune.rs`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Params {
    pub k1: f32,
    pub b: f32,
    /// Weight of each [`Signal`], in [`SIGNALS`] order.
    pub weights: [f32; SIGNALS.len()],
    /// Candidates tantivy retrieves before reranking.
    pub candidates: usize,
    /// Entries added to tantivy's candidates from the translation model's best.
    pub translation_candidates: usize,
    /// Share of the translation model in a document's word distribution (the rest is its own words).
    pub translation_share: f32,
    /// Collection smoothing of the translation language model.
    pub smoothing: f32,
    /// Entries the feedback signal learns from, and words it adds.
    pub feedback_entries: usize,
    pub feedback_words: usize,
    /// Weight of the reading-bigram signal for queries written mostly in kana.
    pub kana_reading_weight: f32,
    /// Weight of synonym expansions relative to the resident's own words.
    pub synonym_weight: f32,
    /// Entries added to the candidates from the sentence encoder's best.
    pub semantic_candidates: usize,
    /// Cosine below which the sentence encoder says nothing (unrelated sentences sit around 0.1–0.3).
    pub semantic_floor: f32,
    /// When above 0, the encoder signal is reciprocal rank `k / (k + rank)` over the encoder's best 100 entries (rank
    /// fusion, robust to how cosines spread from query to query) instead of the cosine less the floor.
    pub semantic_rank_k: f32,
    /// Answer policy: an entry whose encoder cosine reaches this counts as covering the question even when it shares
    /// no word with it (a paraphrase, or a question in another language).
    pub semantic_coverage: f32,
    /// The coverage a match counts as when the encoder vouches for it (a paraphrase reaching `semantic_coverage`,
    /// a question in another language scaled to it).
    pub confident_coverage: f32,
    /// Answer policy: one direct answer when the best entry covers this share of the query's (IDF-weighted)
    /// words...
    pub direct_coverage: f32,
    /// ...and its score leads the runner-up by this share.
    pub confident_margin: f32,
    /// Answer policy: no match below this coverage.
    pub min_coverage: f32,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            k1: 1.2,
            b: 0.75,
            weights: [1.0, 4.0, 0.0, 0.75, 1.0, 1.0, 1.0, 6.0, 8.0, 0.0],
            feedback_entries: 3,
            feedback_words: 10,
            candidates: 100,
            translation_candidates: 20,
            translation_share: 0.2,
            smoothing: 0.35,
            synonym_weight: 0.6,
            // Weights, floor and candidates: examples/tune.rs, 5-fold cross-validation on the dev queries (README.md).
            semantic_candidates: 20,
            semantic_floor: 0.2,
            semantic_rank_k: 0.0,
            semantic_coverage: 0.55,
            kana_reading_weight: 8.0,
            // Calibrated with examples/calibrate.rs (see README.md): min_coverage 0.4 (semantic_coverage 0.55) sends
            // 65% of the off-topic questions to the polite fallback.
            // The answer policy as residents feel it (examples/policy.rs, README.md): a direct answer whenever the
            // best entry fits at all (coverage 0.4) and leads the runner-up by 10 %; on the dev queries that
            // answers 44 % of those whose best entry is right at once (15 % before) with 7.8 % of all queries
            // answered wrongly (0.5 % before); a lead of 5 % would reach 60 % at 13 % wrong.
            confident_coverage: 0.75,
            direct_coverage: 0.4,
            confident_margin: 0.1,
            min_coverage: 0.4,
        }
    }
}

/// BM25 statistics of one analysed field, over term ids.
#[derive(Debug, Default)]
struct Bm25Field {
    postings: HashMap<u32, Vec<(u32, f32)>>,
    doc_len: Vec<f32>,
    avg_len: f32,
}

impl Bm25Field {
    fn build(docs: &[Vec<u32>]) -> Self {
        let mut postings: HashMap<u32, Vec<(u32, f32)>> = HashMap::new();
        for (doc, terms) in docs.iter().enumerate() {
            let mut tf: HashMap<u32, f32> = HashMap::new();
            for &t in terms {
                *tf.entry(t).or_default() += 1.0;
            }
            let mut tf: Vec<_> = tf.into_iter().collect();
            tf.sort_unstable_by_key(|&(t, _)| t);
            for (t, f) in tf {
                postings.entry(t).or_default().push((doc as u32, f));
            }
        }
        let doc_len: Vec<f32> = docs.iter().map(|d| d.len() as f32).collect();
        let avg_len = (doc_len.iter().sum::<f32>() / doc_len.len().max(1) as f32).max(1.0);
        Bm25Field {
            postings,
            doc_len,
            avg_len,
        }
    }

    fn idf(&self, term: u32) -> f32 {
        let n = self.doc_len.len() as f32;
        let df = self.postings.get(&term).map_or(0.0, |p| p.len() as f32);
        (1.0 + (n - df + 0.5) / (df + 0.5)).ln()
    }

    fn contains(&self, term: u32, doc: u32) -> bool {
        self.postings
            .get(&term)
            .is_some_and(|p| p.binary_search_by_key(&doc, |&(d, _)| d).is_ok())
    }

    fn accumulate(&self, term: u32, weight: f32, params: &Params, scores: &mut [f32]) {
        let Some(postings) = self.postings.get(&term) else {
            return;
        };
        let idf = self.idf(term) * weight;
        for &(doc, tf) in postings {
            let norm =
                params.k1 * (1.0 - params.b + params.b * self.doc_len[doc as usize] / self.avg_len);
            scores[doc as usize] += idf * tf * (params.k1 + 1.0) / (tf + norm);
        }
    }
}

/// The translation-based language model, stored as postings of `P(w | entry)` for every word `w` an entry either
/// uses or translates to.
#[derive(Debug, Default)]
struct TranslationModel {
    postings: HashMap<u32, Vec<(u32, f32)>>,
    background: HashMap<u32, f32>,
    min_background: f32,
    /// Each posting's score contribution for `precomputed_smoothing`, so a query needs no logarithms.
    contributions: HashMap<u32, Vec<f32>>,
    precomputed_smoothing: f32,
}

impl TranslationModel {
    /// `documents` are the term lists an entry is represented by (both sides, or the question side alone).
    fn build(
        documents: &[Vec<u32>],
        table: &TranslationTable,
        translation_share: f32,
        smoothing: f32,
    ) -> Self {
        let mut collection: HashMap<u32, f32> = HashMap::new();
        let mut total = 0.0f32;
        let mut postings: HashMap<u32, Vec<(u32, f32)>> = HashMap::new();
        for (doc, terms) in documents.iter().enumerate() {
            let len = terms.len() as f32;
            if len == 0.0 {
                continue;
            }
            let mut own: HashMap<u32, f32> = HashMap::new();
            for &t in terms {
                *own.entry(t).or_default() += 1.0;
                *collection.entry(t).or_default() += 1.0;
                total += 1.0;
            }
            let mut probability: HashMap<u32, f32> = HashMap::new();
            for (&t, &tf) in &own {
                *probability.entry(t).or_default() += (1.0 - translation_share) * tf / len;
                for &(w, p) in table.targets(t) {
                    *probability.entry(w).or_default() += translation_share * p * tf / len;
                }
            }
            for (w, p) in probability {
                postings.entry(w).or_default().push((doc as u32, p));
            }
        }
        let total = total.max(1.0);
        let background = collection
            .into_iter()
            .map(|(t, c)| (t, c / total))
            .collect();
        let mut model = TranslationModel {
            postings,
            background,
            min_background: 0.5 / total,
            contributions: HashMap::new(),
            precomputed_smoothing: smoothing,
        };
        model.contributions = model
            .postings
            .iter()
            .map(|(&term, postings)| {
                let scale = model.scale(term, smoothing);
                (
                    term,
                    postings
                        .iter()
                        .map(|&(_, p)| (1.0 + scale * p).ln())
                        .collect(),
                )
            })
            .collect();
        model
    }

    fn scale(&self, term: u32, smoothing: f32) -> f32 {
        let background = self
            .background
            .get(&term)
            .copied()
            .unwrap_or(self.min_background);
        (1.0 - smoothing) / (smoothing * background)
    }

    /// Adds `weight · log(1 + (1-λ)·P(w|entry) / (λ·P(w|collection)))`: the query likelihood with Jelinek-Mercer
    /// smoothing, less the part every entry shares, so entries without the word need no work.
    fn accumulate(&self, term: u32, weight: f32, smoothing: f32, scores: &mut [f32]) {
        let Some(postings) = self.postings.get(&term) else {
            return;
        };
        if smoothing == self.precomputed_smoothing
            && let Some(contributions) = self.contributions.get(&term)
        {
            for (&(doc, _), contribution) in postings.iter().zip(contributions) {
                scores[doc as usize] += weight * contribution;
            }
            return;
        }
        let scale = self.scale(term, smoothing);
        for &(doc, p) in postings {
            scores[doc as usize] += weight * (1.0 + scale * p).ln();
        }
    }
}

/// tantivy fields.
#[derive(Debug, Clone, Copy)]
struct Fields {
    ordinal: Field,
    question: Field,
    answer: Field,
    question_reading: Field,
    reading_bigram: Field,
    question_bigram: Field,
    english_question: Field,
    english_answer: Field,
}

/// Terms of a query, as term ids with weights, per analysed kind.
#[derive(Debug, Default)]
struct QueryTerms {
    /// (term text, term id if known, weight, expanded from a synonym)
    base: Vec<(String, Option<u32>, f32, bool)>,
    reading: Vec<(String, Option<u32>)>,
    bigram: Vec<(String, Option<u32>)>,
    reading_bigram: Vec<(String, Option<u32>)>,
    /// The query is mostly kana, or has no word the FAQ uses: retrieve by bigrams too.
    needs_bigrams: bool,
    /// The query is mostly kana: its words are readings, not the FAQ's spelling.
    mostly_kana: bool,
    /// The sentence encoder's vector of the query (when the index has entry vectors).
    vector: Option<Vec<f32>>,
}

/// A searchable FAQ. Cheap to share behind an `Arc`; rebuild it when the files change.
pub struct Index {
    entries: Vec<FaqEntry>,
    by_id: HashMap<String, usize>,
    vocabulary: HashMap<String, u32>,
    /// Query expansions from the synonym groups.
    synonyms: Vec<SynonymRule>,
    question: Bm25Field,
    answer: Bm25Field,
    question_reading: Bm25Field,
    question_bigram: Bm25Field,
    answer_bigram: Bm25Field,
    reading_bigram: Bm25Field,
    translation: TranslationModel,
    /// Each entry's unit mean word vector (empty when it has none or the vectors are unavailable).
    entry_vectors: Vec<Vec<f32>>,
    /// Each entry's sentence vector (mean of the encoder's vectors of its question and of its question with the start
    /// of its answer), `DIMS` per entry; empty when the encoder is unavailable.
    /// Set once, possibly after the index is in use (the hub attaches them in the background).
    sentence_vectors: std::sync::OnceLock<Vec<f32>>,
    /// Each entry's base terms (question side and answer) with their relative frequency, for feedback.
    entry_terms: Vec<Vec<(u32, f32)>>,
    reader: IndexReader,
    fields: Fields,
    /// Entry ordinal of each tantivy document, per segment.
    ordinals: Vec<Vec<u32>>,
    has_english: bool,
    params: Params,
}

impl std::fmt::Debug for Index {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Index")
            .field("entries", &self.entries.len())
            .field("params", &self.params)
            .finish()
    }
}

/// The text of an entry's question side: the question, its alternatives and its keywords.
fn question_side(entry: &FaqEntry) -> String {
    let mut text = entry.question.clone();
    for extra in entry.alternatives.iter().chain(&entry.keywords) {
        text.push('\n');
        text.push_str(extra);
    }
    text
}

impl Index {
    /// Builds the index with the default (tuned) parameters.
    pub fn build(faq: &Faq) -> Result<Index, IndexError> {
        Index::build_with(faq, Params::default())
    }

    /// Builds the index with explicit parameters (for tuning), sentence vectors included (encoded through the
    /// process cache; without them when the encoder cannot be loaded).
    pub fn build_with(faq: &Faq, params: Params) -> Result<Index, IndexError> {
        let index = Index::build_lexical_with(faq, params)?;
        if let Err(error) = index.attach_sentence_vectors(&KnownVectors::new()) {
            tracing::warn!(%error, "sentence encoder unavailable; FAQ search goes without it");
        }
        Ok(index)
    }

    /// Builds the index without sentence vectors: it answers at once with the other signals, and
    /// [`Index::attach_sentence_vectors`] adds the encoder later.
    pub fn build_lexical_with(faq: &Faq, params: Params) -> Result<Index, IndexError> {
        analysis::dictionary()?;
        let entries = faq.entries.clone();
        let mut vocabulary: HashMap<String, u32> = HashMap::new();
        let mut intern = |terms: Vec<String>| -> Vec<u32> {
            terms
                .into_iter()
                .map(|t| {
                    let next = vocabulary.len() as u32;
                    *vocabulary.entry(t).or_insert(next)
                })
                .collect()
        };
        let mut question_terms = Vec::with_capacity(entries.len());
        let mut answer_terms = Vec::with_capacity(entries.len());
        let mut reading_terms = Vec::with_capacity(entries.len());
        let mut question_bigrams = Vec::with_capacity(entries.len());
        let mut answer_bigrams = Vec::with_capacity(entries.len());
        let mut reading_bigrams = Vec::with_capacity(entries.len());
        for entry in &entries {
            let question_text = question_side(entry);
            let question_analysis = analysis::analyze(&question_text)?;
            let answer_analysis = analysis::analyze(&entry.answer)?;
            question_terms.push(intern(
                analysis::content_terms(&question_analysis)
                    .map(|m| m.base.clone())
                    .collect(),
            ));
            answer_terms.push(intern(
                analysis::content_terms(&answer_analysis)
                    .map(|m| m.base.clone())
                    .collect(),
            ));
            reading_terms.push(intern(
                analysis::content_terms(&question_analysis)
                    .map(|m| m.reading.clone())
                    .collect(),
            ));
            question_bigrams.push(intern(analysis::char_bigrams(&normalize(&question_text))));
            answer_bigrams.push(intern(analysis::char_bigrams(&normalize(&entry.answer))));
            reading_bigrams.push(intern(analysis::reading_bigrams(&question_analysis)));
        }

        let (reader, fields, ordinals) = build_tantivy(&entries)?;
        let synonyms = synonym_rules(&faq.synonyms);
        let pairs: Vec<(Vec<u32>, Vec<u32>)> = question_terms
            .iter()
            .zip(&answer_terms)
            .map(|(q, a)| (q.clone(), a.clone()))
            .collect();
        let table = TranslationTable::train(&pairs);
        let both_sides: Vec<Vec<u32>> = pairs.into_iter().map(|(q, a)| [q, a].concat()).collect();
        let translation = TranslationModel::build(
            &both_sides,
            &table,
            params.translation_share,
            params.smoothing,
        );
        let entry_vectors = entry_vectors(&both_sides, &vocabulary);
        let entry_terms = question_terms
            .iter()
            .zip(&answer_terms)
            .map(|(q, a)| relative_frequencies(q, a))
            .collect();
        Ok(Index {
            entry_terms,
            by_id: entries
                .iter()
                .enumerate()
                .map(|(i, e)| (e.id.clone(), i))
                .collect(),
            has_english: entries
                .iter()
                .any(|e| e.question_en.is_some() || e.answer_en.is_some()),
            entries,
            vocabulary,
            synonyms,
            question: Bm25Field::build(&question_terms),
            answer: Bm25Field::build(&answer_terms),
            question_reading: Bm25Field::build(&reading_terms),
            question_bigram: Bm25Field::build(&question_bigrams),
            answer_bigram: Bm25Field::build(&answer_bigrams),
            reading_bigram: Bm25Field::build(&reading_bigrams),
            translation,
            entry_vectors,
            sentence_vectors: std::sync::OnceLock::new(),
            reader,
            fields,
            ordinals,
            params,
        })
    }

    /// Computes each entry's sentence vector (mean of the vectors of its two texts) and attaches them: a text whose
    /// key is in `known` is not encoded again, the others go through the encoder (loaded on first use, once per
    /// process) and its in-process cache. Does nothing (and encodes nothing) when vectors are already attached.
    pub fn attach_sentence_vectors(
        &self,
        known: &KnownVectors,
    ) -> Result<SemanticBuild, EncoderError> {
        let mut build = SemanticBuild::default();
        if self.sentence_vectors.get().is_some() {
            return Ok(build);
        }
        let started = std::time::Instant::now();
        let mut vectors = Vec::with_capacity(self.entries.len() * DIMS);
        for entry in &self.entries {
            let [question, both] = sentence_texts(entry).map(|text| {
                let key = text_key(&text);
                match known.get(&key) {
                    Some(vector) if vector.len() == DIMS => {
                        build.reused += 1;
                        Ok(vector.clone())
                    }
                    _ => {
                        let vector = encoder::encoder()?.encode_cached(&text);
                        build.encoded.push((key, vector.clone()));
                        Ok::<_, EncoderError>(vector)
                    }
                }
            });
            let (question, both) = (question?, both?);
            vectors.extend(question.iter().zip(both.iter()).map(|(a, b)| (a + b) / 2.0));
        }
        // The queries need the encoder too: load it now rather than on a resident's first question.
        encoder::encoder()?;
        let _ = self.sentence_vectors.set(vectors);
        tracing::debug!(
            entries = self.entries.len(),
            reused = build.reused,
            encoded = build.encoded.len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "FAQ sentence vectors attached"
        );
        Ok(build)
    }

    /// The content keys of the texts [`Index::attach_sentence_vectors`] needs vectors for (two per entry).
    pub fn sentence_keys(&self) -> Vec<TextKey> {
        self.entries
            .iter()
            .flat_map(|entry| sentence_texts(entry).map(|text| text_key(&text)))
            .collect()
    }

    /// Whether the sentence encoder takes part in the ranking yet.
    pub fn has_sentence_vectors(&self) -> bool {
        self.sentence_vectors.get().is_some_and(|v| !v.is_empty())
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entry with this id.
    pub fn entry(&self, id: &str) -> Option<&FaqEntry> {
        self.by_id.get(id).map(|&i| &self.entries[i])
    }

    /// All entries, in load order.
    pub fn entries(&self) -> &[FaqEntry] {
        &self.entries
    }

    pub fn params(&self) -> &Params {
        &self.params
    }

    /// Changes ranking parameters other than `translation_share` (which is fixed at build time).
    pub fn set_params(&mut self, params: Params) {
        self.params = params;
    }

    /// The best entries for a query, best first, at most `limit`.
    pub fn search(&self, query: &str, limit: usize) -> Vec<Hit> {
        self.ranked(query, limit)
            .into_iter()
            .map(|scored| Hit {
                id: self.entries[scored.ordinal].id.clone(),
                score: scored.score,
            })
            .collect()
    }

    /// The answer policy: one entry when confident, up to three choices when not, or no match.
    pub fn answer(&self, query: &str) -> Answer {
        let ranked = self.ranked(query, 3);
        let Some(best) = ranked.first() else {
            return Answer::NoMatch;
        };
        let suggestion = |s: &Scored| Suggestion {
            entry: self.entries[s.ordinal].clone(),
            score: s.score,
        };
        // Asked exactly as one of the ranked entries states it (its question, an alternative or its English
        // question, compared normalised): that entry is the answer, however close its neighbours score.
        // Two entries stating the same question are a real choice: then the list stays.
        let asked = normalize(query);
        let mut exact = ranked
            .iter()
            .filter(|s| self.states_exactly(s.ordinal, &asked));
        if let (Some(only), None) = (exact.next(), exact.next()) {
            return Answer::Confident(Box::new(suggestion(only)));
        }
        if best.coverage < self.params.min_coverage {
            return Answer::NoMatch;
        }
        let margin = ranked.get(1).map_or(1.0, |second| {
            (best.score - second.score) / best.score.max(f32::EPSILON)
        });
        if best.coverage >= self.params.direct_coverage && margin >= self.params.confident_margin {
            return Answer::Confident(Box::new(suggestion(best)));
        }
        let choices: Vec<Suggestion> = ranked
            .iter()
            .filter(|s| s.coverage >= self.params.min_coverage)
            .map(suggestion)
            .collect();
        // A list of one is only an extra tap: the one entry that fits at all is the answer.
        if choices.len() == 1 {
            return Answer::Confident(Box::new(suggestion(best)));
        }
        Answer::Candidates(choices)
    }

    /// Whether entry `ordinal` states the normalised question `asked` word for word.
    fn states_exactly(&self, ordinal: usize, asked: &str) -> bool {
        let entry = &self.entries[ordinal];
        !asked.is_empty()
            && std::iter::once(&entry.question)
                .chain(&entry.alternatives)
                .chain(&entry.question_en)
                .any(|stated| normalize(stated) == asked)
    }

    /// Signal values (each max-normalised over the candidates) of the candidates of a query, for tuning.
    pub fn signals(&self, query: &str) -> Vec<(String, [f32; SIGNALS.len()])> {
        let mut terms = self.query_terms(&normalize(query));
        terms.vector = self.query_vector(query);
        self.candidate_signals(&terms)
            .into_iter()
            .map(|(c, signals)| (self.entries[c].id.clone(), signals))
            .collect()
    }

    fn ranked(&self, query: &str, limit: usize) -> Vec<Scored> {
        let normalized = normalize(query);
        if normalized.is_empty() || limit == 0 {
            return Vec::new();
        }
        if query_language(&normalized) != QueryLanguage::Japanese && self.has_sentence_vectors() {
            return self.ranked_foreign(query, &normalized, limit);
        }
        if self.has_english && looks_english(&normalized) {
            let hits = self.search_english(&normalized, limit);
            if !hits.is_empty() {
                return hits;
            }
        }
        let mut terms = self.query_terms(&normalized);
        terms.vector = self.query_vector(query);
        let mut weights = self.params.weights;
        if terms.mostly_kana {
            // Kana typed for kanji: the reading bigrams carry the meaning (the weights were tuned on kanji queries).
            weights[5] = weights[5].max(self.params.kana_reading_weight);
        }
        let mut scored: Vec<Scored> = self
            .candidate_signals(&terms)
            .into_iter()
            .map(|(ordinal, signals)| {
                let score = signals.iter().zip(&weights).map(|(s, w)| s * w).sum();
                Scored {
                    ordinal,
                    score,
                    coverage: 0.0,
                }
            })
            .filter(|s| s.score > 0.0)
            .collect();
        scored.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.ordinal.cmp(&b.ordinal)));
        scored.truncate(limit);
        for s in scored.iter_mut().take(3) {
            s.coverage = self.coverage(&terms, s.ordinal as u32);
            // A paraphrase or a question in another language shares no word with its entry; the encoder vouches.
            if self.sentence_cosine(&terms, s.ordinal) >= self.params.semantic_coverage {
                s.coverage = s.coverage.max(self.params.confident_coverage);
            }
        }
        scored
    }

    /// A question in English, Chinese or Korean: the Japanese analysis has nothing to hold on to, so the encoder ranks
    /// every entry (cosine less the floor), joined for English by BM25 over the entries' English texts. Coverage for
    /// the answer policy is the cosine scaled so that `semantic_coverage` reaches the confident level.
    fn ranked_foreign(&self, query: &str, normalized: &str, limit: usize) -> Vec<Scored> {
        let Some(vector) = self.query_vector(query) else {
            return Vec::new();
        };
        let Some(vectors) = self.sentence_vectors.get() else {
            return Vec::new();
        };
        let params = &self.params;
        let cosines: Vec<f32> = vectors
            .chunks_exact(DIMS)
            .map(|entry| encoder::cosine(&vector, entry))
            .collect();
        let best = cosines
            .iter()
            .fold(0.0f32, |m, &c| m.max(c - params.semantic_floor));
        let mut scores: Vec<f32> = cosines
            .iter()
            .map(|&c| (c - params.semantic_floor).max(0.0) / best.max(f32::EPSILON))
            .collect();
        if self.has_english && looks_english(normalized) {
            for hit in self.search_english(normalized, params.candidates) {
                scores[hit.ordinal] += FOREIGN_ENGLISH_WEIGHT * hit.coverage;
            }
        }
        let mut scored: Vec<Scored> = scores
            .iter()
            .enumerate()
            .filter(|&(_, &score)| score > 0.0)
            .map(|(ordinal, &score)| Scored {
                ordinal,
                score,
                coverage: (cosines[ordinal] / params.semantic_coverage * params.confident_coverage)
                    .min(1.0),
            })
            .collect();
        scored.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.ordinal.cmp(&b.ordinal)));
        scored.truncate(limit);
        scored
    }

    /// Candidates (tantivy's top documents and the translation model's) with their max-normalised signals.
    fn candidate_signals(&self, terms: &QueryTerms) -> Vec<(usize, [f32; SIGNALS.len()])> {
        COLUMNS.with(|cell| {
            let mut columns = cell.borrow_mut();
            columns.resize_with(SIGNALS.len(), Vec::new);
            for column in columns.iter_mut() {
                column.clear();
                column.resize(self.entries.len(), 0.0);
            }
            self.candidate_signals_in(terms, &mut columns)
        })
    }

    fn candidate_signals_in(
        &self,
        terms: &QueryTerms,
        columns: &mut [Vec<f32>],
    ) -> Vec<(usize, [f32; SIGNALS.len()])> {
        let params = &self.params;
        for (_, id, weight, _) in &terms.base {
            let Some(id) = *id else { continue };
            self.question
                .accumulate(id, *weight, params, &mut columns[0]);
            self.answer.accumulate(id, *weight, params, &mut columns[1]);
            self.translation
                .accumulate(id, *weight, params.smoothing, &mut columns[6]);
        }
        for (_, id) in &terms.reading {
            if let Some(id) = *id {
                self.question_reading
                    .accumulate(id, 1.0, params, &mut columns[2]);
            }
        }
        for (_, id) in &terms.bigram {
            if let Some(id) = *id {
                self.question_bigram
                    .accumulate(id, 1.0, params, &mut columns[3]);
                self.answer_bigram
                    .accumulate(id, 1.0, params, &mut columns[4]);
            }
        }
        for (_, id) in &terms.reading_bigram {
            if let Some(id) = *id {
                self.reading_bigram
                    .accumulate(id, 1.0, params, &mut columns[5]);
            }
        }
        let mut candidates = self.tantivy_candidates(terms);
        self.add_translation_candidates(&columns[6], &mut candidates);
        if params.weights[7] > 0.0 {
            self.vector_similarities(terms, &candidates, &mut columns[7]);
        }
        if params.weights[SEMANTIC] > 0.0 {
            self.sentence_similarities(terms, &mut candidates, &mut columns[SEMANTIC]);
        }
        let mut maxima: Vec<f32> = columns
            .iter()
            .map(|c| candidates.iter().map(|&d| c[d]).fold(0.0f32, f32::max))
            .collect();
        let feedback = SIGNALS.len() - 1;
        if params.weights[feedback] > 0.0 && params.feedback_entries > 0 {
            let first_stage = |doc: usize| -> f32 {
                (0..feedback)
                    .filter(|&k| maxima[k] > 0.0)
                    .map(|k| params.weights[k] * columns[k][doc] / maxima[k])
                    .sum()
            };
            let mut ranked: Vec<(f32, usize)> =
                candidates.iter().map(|&d| (first_stage(d), d)).collect();
            ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            let query_words: HashSet<u32> = terms.base.iter().filter_map(|t| t.1).collect();
            let mut expansion: HashMap<u32, f32> = HashMap::new();
            for &(score, doc) in ranked.iter().take(params.feedback_entries) {
                for &(term, share) in &self.entry_terms[doc] {
                    if !query_words.contains(&term) {
                        *expansion.entry(term).or_default() += score * share;
                    }
                }
            }
            let mut expansion: Vec<(u32, f32)> = expansion.into_iter().collect();
            expansion.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            expansion.truncate(params.feedback_words);
            let strongest = expansion.first().map_or(1.0, |e| e.1.max(f32::EPSILON));
            for (term, weight) in expansion {
                self.question
                    .accumulate(term, weight / strongest, params, &mut columns[feedback]);
                self.answer
                    .accumulate(term, weight / strongest, params, &mut columns[feedback]);
            }
            maxima[feedback] = candidates
                .iter()
                .map(|&d| columns[feedback][d])
                .fold(0.0f32, f32::max);
        }
        candidates
            .into_iter()
            .map(|doc| {
                let mut row = [0.0f32; SIGNALS.len()];
                for (k, value) in row.iter_mut().enumerate() {
                    if maxima[k] > 0.0 {
                        *value = columns[k][doc] / maxima[k];
                    }
                }
                (doc, row)
            })
            .collect()
    }

    /// The encoder's vector of a query, when the index has sentence vectors and ranks or answers with them.
    fn query_vector(&self, query: &str) -> Option<Vec<f32>> {
        if !self.has_sentence_vectors() {
            return None;
        }
        encoder::encoder().ok().map(|e| e.encode(query))
    }

    /// Cosine of the query's sentence vector with an entry's (0 without vectors).
    fn sentence_cosine(&self, terms: &QueryTerms, doc: usize) -> f32 {
        match (
            &terms.vector,
            self.sentence_vectors
                .get()
                .and_then(|v| v.get(doc * DIMS..(doc + 1) * DIMS)),
        ) {
            (Some(query), Some(entry)) => encoder::cosine(query, entry),
            _ => 0.0,
        }
    }

    /// The encoder signal for every entry (cosine less the floor), and the encoder's best entries added to the
    /// candidates: they may share no word with the query at all.
    fn sentence_similarities(
        &self,
        terms: &QueryTerms,
        candidates: &mut Vec<usize>,
        column: &mut [f32],
    ) {
        let Some(query) = &terms.vector else {
            return;
        };
        let floor = self.params.semantic_floor;
        let mut best: Vec<(f32, usize)> = Vec::with_capacity(self.entries.len());
        let Some(vectors) = self.sentence_vectors.get() else {
            return;
        };
        for (doc, entry) in vectors.chunks_exact(DIMS).enumerate() {
            let cos = encoder::cosine(query, entry);
            column[doc] = (cos - floor).max(0.0);
            best.push((cos, doc));
        }
        let order = |a: &(f32, usize), b: &(f32, usize)| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1));
        let k = self.params.semantic_rank_k;
        if k > 0.0 {
            let depth = RANK_DEPTH.min(best.len());
            if depth > 0 {
                best.select_nth_unstable_by(depth - 1, order);
                best[..depth].sort_unstable_by(order);
            }
            column.iter_mut().for_each(|v| *v = 0.0);
            for (rank, &(_, doc)) in best[..depth].iter().enumerate() {
                column[doc] = k / (k + rank as f32 + 1.0);
            }
        }
        let wanted = self.params.semantic_candidates.min(best.len());
        if wanted == 0 {
            return;
        }
        best.select_nth_unstable_by(wanted - 1, order);
        let known: HashSet<usize> = candidates.iter().copied().collect();
        candidates.extend(
            best[..wanted]
                .iter()
                .filter(|&&(cos, doc)| cos > floor && !known.contains(&doc))
                .map(|&(_, doc)| doc),
        );
    }

    /// Cosine between the query's mean word vector and each candidate's.
    fn vector_similarities(&self, terms: &QueryTerms, candidates: &[usize], column: &mut [f32]) {
        let Some(vectors) = word_vectors() else {
            return;
        };
        let weighted = terms.base.iter().map(|(text, id, weight, _)| {
            let idf = id.map_or_else(
                || self.answer.idf(u32::MAX),
                |id| self.answer.idf(id).max(self.question.idf(id)),
            );
            (text.as_str(), weight * idf)
        });
        let Some(query) = vectors.mean(weighted) else {
            return;
        };
        for &doc in candidates {
            if let Some(entry) = self.entry_vectors.get(doc).filter(|v| !v.is_empty()) {
                column[doc] = cosine(&query, entry).max(0.0);
            }
        }
    }

    /// Entries the translation model ranks high but that share no word with the query: the reason it exists.
    fn add_translation_candidates(&self, translation: &[f32], candidates: &mut Vec<usize>) {
        let wanted = self.params.translation_candidates;
        if wanted == 0 || self.params.weights[6] <= 0.0 {
            return;
        }
        let mut best: Vec<usize> = (0..translation.len())
            .filter(|&d| translation[d] > 0.0)
            .collect();
        if best.len() > wanted {
            best.select_nth_unstable_by(wanted, |&a, &b| translation[b].total_cmp(&translation[a]));
            best.truncate(wanted);
        }
        let known: HashSet<usize> = candidates.iter().copied().collect();
        candidates.extend(best.into_iter().filter(|d| !known.contains(d)));
    }

    fn tantivy_candidates(&self, terms: &QueryTerms) -> Vec<usize> {
        let w = &self.params.weights;
        let f = &self.fields;
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let mut add = |field: Field, text: &str, boost: f32| {
            if boost > 0.0 {
                let query = TermQuery::new(
                    Term::from_field_text(field, text),
                    IndexRecordOption::WithFreqs,
                );
                clauses.push((
                    Occur::Should,
                    Box::new(BoostQuery::new(Box::new(query), boost)),
                ));
            }
        };
        let mut seen = HashSet::new();
        for (text, _, weight, _) in &terms.base {
            if seen.insert(text.as_str()) {
                add(f.question, text, w[0].max(0.1) * weight);
                add(f.answer, text, (w[1] + w[6]).max(0.1) * weight);
            }
        }
        // Readings retrieve only what base forms cannot: words the FAQ spells differently.
        let mut seen = HashSet::new();
        for ((text, _), _) in terms
            .reading
            .iter()
            .zip(&terms.base)
            .filter(|(_, base)| base.1.is_none())
        {
            if seen.insert(text.as_str()) {
                add(f.question_reading, text, w[2].max(0.05));
            }
        }
        // Bigram clauses are many and slow tantivy down; they are needed only when words fail: kana typed for kanji,
        // typos, words the FAQ never uses.
        if terms.needs_bigrams {
            let mut seen = HashSet::new();
            for (text, _) in &terms.reading_bigram {
                if seen.insert(text.as_str()) {
                    add(f.reading_bigram, text, w[5].max(0.05));
                }
            }
            let mut seen = HashSet::new();
            for (text, _) in &terms.bigram {
                if seen.insert(text.as_str()) {
                    add(f.question_bigram, text, w[3].max(0.05));
                }
            }
        }
        if clauses.is_empty() {
            return Vec::new();
        }
        let searcher = self.reader.searcher();
        // Paired with a count, the top-docs collector visits every match with a plain union instead of block-WAND:
        // with a hundred candidates from a small index WAND cannot skip, and its per-step re-sorting of the term
        // scorers made long queries take milliseconds.
        let collector = (
            TopDocs::with_limit(self.params.candidates.max(1)).order_by_score(),
            Count,
        );
        match searcher.search(&BooleanQuery::new(clauses), &collector) {
            Ok((top, _)) => top
                .into_iter()
                .filter_map(|(_, address)| {
                    self.ordinals
                        .get(address.segment_ord as usize)?
                        .get(address.doc_id as usize)
                        .map(|&o| o as usize)
                })
                .collect(),
            Err(_) => Vec::new(),
        }
    }

    /// IDF-weighted share of the resident's own content words (not synonym expansions) that the entry contains, as
    /// the word or its reading; for a query typed in kana, at least the share of its reading bigrams the entry has.
    fn coverage(&self, terms: &QueryTerms, doc: u32) -> f32 {
        let mut total = 0.0;
        let mut covered = 0.0;
        // The resident's own words come first in `base`, in step with `reading`; expansions follow.
        for ((_, id, _, _), (_, reading)) in terms.base.iter().zip(&terms.reading) {
            let idf = id.map_or_else(|| self.question.idf(u32::MAX), |id| self.question.idf(id));
            total += idf;
            let has_word = id
                .is_some_and(|id| self.question.contains(id, doc) || self.answer.contains(id, doc));
            let has_reading = reading.is_some_and(|r| self.question_reading.contains(r, doc));
            if has_word || has_reading {
                covered += idf;
            }
        }
        let word_share = if total > 0.0 { covered / total } else { 0.0 };
        if !terms.mostly_kana {
            return word_share;
        }
        // Kana typed for kanji: the words are mis-segmented, the reading bigrams are what match.
        let bigrams = terms.reading_bigram.len() as f32;
        let matched = terms
            .reading_bigram
            .iter()
            .filter(|(_, id)| id.is_some_and(|id| self.reading_bigram.contains(id, doc)))
            .count() as f32;
        if bigrams > 0.0 {
            word_share.max(matched / bigrams)
        } else {
            word_share
        }
    }

    fn query_terms(&self, normalized: &str) -> QueryTerms {
        let id = |t: &str| self.vocabulary.get(t).copied();
        let Ok(morphemes) = analysis::analyze_normalized(normalized) else {
            return QueryTerms::default();
        };
        let mut terms = QueryTerms::default();
        for m in analysis::content_terms(&morphemes) {
            terms.base.push((m.base.clone(), id(&m.base), 1.0, false));
            terms.reading.push((m.reading.clone(), id(&m.reading)));
        }
        let own: HashSet<String> = terms.base.iter().map(|t| t.0.clone()).collect();
        let mut expansions = Vec::new();
        let mut added: HashSet<&str> = HashSet::new();
        for rule in self
            .synonyms
            .iter()
            .filter(|r| r.trigger.iter().all(|t| own.contains(t)))
        {
            for synonym in &rule.expansion {
                if !own.contains(synonym) && added.insert(synonym) {
                    expansions.push((
                        synonym.clone(),
                        id(synonym),
                        self.params.synonym_weight,
                        true,
                    ));
                }
            }
        }
        let no_known_word = terms.base.iter().all(|t| t.1.is_none());
        terms.mostly_kana = mostly_kana(normalized);
        terms.needs_bigrams = no_known_word || terms.mostly_kana;
        terms.base.extend(expansions);
        terms.bigram = analysis::char_bigrams(normalized)
            .into_iter()
            .map(|t| (id(&t), t))
            .map(|(i, t)| (t, i))
            .collect();
        terms.reading_bigram = analysis::reading_bigrams(&morphemes)
            .into_iter()
            .map(|t| (id(&t), t))
            .map(|(i, t)| (t, i))
            .collect();
        terms
    }

    fn search_english(&self, normalized: &str, limit: usize) -> Vec<Scored> {
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let words: HashSet<&str> = normalized
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| w.len() > 1 && !ENGLISH_STOP_WORDS.contains(w))
            .collect();
        for word in &words {
            for (field, boost) in [
                (self.fields.english_question, 2.0),
                (self.fields.english_answer, 1.0),
            ] {
                let query = TermQuery::new(
                    Term::from_field_text(field, word),
                    IndexRecordOption::WithFreqs,
                );
                clauses.push((
                    Occur::Should,
                    Box::new(BoostQuery::new(Box::new(query), boost)),
                ));
            }
        }
        if clauses.is_empty() {
            return Vec::new();
        }
        let searcher = self.reader.searcher();
        let Ok(top) = searcher.search(
            &BooleanQuery::new(clauses),
            &TopDocs::with_limit(limit).order_by_score(),
        ) else {
            return Vec::new();
        };
        let best = top.first().map_or(1.0, |t| t.0.max(f32::EPSILON));
        top.into_iter()
            .filter_map(|(score, address)| {
                let ordinal = *self
                    .ordinals
                    .get(address.segment_ord as usize)?
                    .get(address.doc_id as usize)?;
                // English has no coverage measure of its own: relative score stands in.
                Some(Scored {
                    ordinal: ordinal as usize,
                    score,
                    coverage: score / best,
                })
            })
            .collect()
    }
}

/// Written in kana with (almost) no kanji: a resident typing readings, such as 「じゅうみんひょうをとりたい」. Ordinary
/// Japanese is mostly kana too, but its content words carry kanji.
fn mostly_kana(text: &str) -> bool {
    let letters = text.chars().filter(|c| c.is_alphanumeric()).count();
    let kanji = text
        .chars()
        .filter(|&c| crate::normalize::is_kanji(c))
        .count();
    let kana = text
        .chars()
        .filter(|&c| matches!(c, 'ぁ'..='ゖ' | 'ァ'..='ヺ' | 'ー'))
        .count();
    kana > 0 && kanji * 10 < letters
}

const ENGLISH_STOP_WORDS: &[&str] = &[
    "the", "a", "an", "to", "of", "in", "on", "for", "and", "or", "is", "are", "do", "does", "can",
    "how", "what", "where", "when", "i", "my", "me", "it", "be", "get", "want", "please", "with",
    "at", "by", "from", "about",
];

#[derive(Debug, Clone, Copy)]
struct Scored {
    ordinal: usize,
    score: f32,
    coverage: f32,
}

thread_local! {
    // Per-entry score columns, reused across queries on a thread instead of allocated per query.
    static COLUMNS: std::cell::RefCell<Vec<Vec<f32>>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Each entry's IDF-weighted mean word vector.
fn entry_vectors(documents: &[Vec<u32>], vocabulary: &HashMap<String, u32>) -> Vec<Vec<f32>> {
    let Some(vectors) = word_vectors() else {
        return vec![Vec::new(); documents.len()];
    };
    let mut words = vec![""; vocabulary.len()];
    for (word, &id) in vocabulary {
        words[id as usize] = word.as_str();
    }
    let mut document_frequency: HashMap<u32, f32> = HashMap::new();
    for doc in documents {
        for &t in doc.iter().collect::<HashSet<_>>() {
            *document_frequency.entry(t).or_default() += 1.0;
        }
    }
    let n = documents.len() as f32;
    documents
        .iter()
        .map(|doc| {
            let weighted = doc.iter().map(|t| {
                let df = document_frequency.get(t).copied().unwrap_or(1.0);
                (words[*t as usize], (1.0 + (n - df + 0.5) / (df + 0.5)).ln())
            });
            vectors.mean(weighted).unwrap_or_default()
        })
        .collect()
}

/// Weight of English BM25 (max-normalised) beside the encoder for English questions.
const FOREIGN_ENGLISH_WEIGHT: f32 = 0.5;

/// Entries the rank form of the encoder signal ranks.
const RANK_DEPTH: usize = 100;

/// Longest start of an answer the encoder reads with the question (its averaging dilutes longer texts).
const ANSWER_CHARS: usize = 400;

/// The texts the encoder reads for an entry: its question, and its question with the start of its answer.
fn sentence_texts(entry: &FaqEntry) -> [String; 2] {
    let answer: String = entry.answer.chars().take(ANSWER_CHARS).collect();
    [
        entry.question.clone(),
        format!("{}\n{answer}", entry.question),
    ]
}

/// What [`Index::attach_sentence_vectors`] did.
#[derive(Debug, Default)]
pub struct SemanticBuild {
    /// Texts whose vectors came from the caller's stored vectors.
    pub reused: usize,
    /// Texts encoded now (or found in this process's cache), with their keys, for the caller to store.
    pub encoded: Vec<(TextKey, Arc<[f32]>)>,
}

/// Relative frequency of each term over both sides of an entry.
fn relative_frequencies(question: &[u32], answer: &[u32]) -> Vec<(u32, f32)> {
    let total = (question.len() + answer.len()).max(1) as f32;
    let mut counts: HashMap<u32, f32> = HashMap::new();
    for &t in question.iter().chain(answer) {
        *counts.entry(t).or_default() += 1.0;
    }
    let mut shares: Vec<(u32, f32)> = counts.into_iter().map(|(t, c)| (t, c / total)).collect();
    shares.sort_unstable_by_key(|&(t, _)| t);
    shares
}

/// A synonym rule: when the query holds every term of one member of a group, the other members' terms join it.
#[derive(Debug)]
struct SynonymRule {
    trigger: Vec<String>,
    expansion: Vec<String>,
}

/// One rule per member of each group (members analysed like queries, so 粗大ごみ triggers on 粗大 + ごみ together).
fn synonym_rules(groups: &[Vec<String>]) -> Vec<SynonymRule> {
    let mut rules = Vec::new();
    for group in groups {
        let members: Vec<Vec<String>> = group
            .iter()
            .map(|w| analysis::terms(w, TermKind::Base))
            .collect();
        for (i, trigger) in members.iter().enumerate().filter(|(_, m)| !m.is_empty()) {
            let mut expansion: Vec<String> = Vec::new();
            for term in members
                .iter()
                .enumerate()
                .filter(|&(j, _)| j != i)
                .flat_map(|(_, m)| m)
            {
                if !trigger.contains(term) && !expansion.contains(term) {
                    expansion.push(term.clone());
                }
            }
            if !expansion.is_empty() {
                rules.push(SynonymRule {
                    trigger: trigger.clone(),
                    expansion,
                });
            }
        }
    }
    rules
}

fn build_tantivy(entries: &[FaqEntry]) -> Result<(IndexReader, Fields, Vec<Vec<u32>>), IndexError> {
    let mut schema = Schema::builder();
    let analysed = |kind: TermKind| {
        TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(kind.tokenizer_name())
                .set_index_option(IndexRecordOption::WithFreqs),
        )
    };
    let english = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer("default")
            .set_index_option(IndexRecordOption::WithFreqs),
    );
    let fields = Fields {
        ordinal: schema.add_u64_field("ordinal", FAST),
        question: schema.add_text_field("question", analysed(TermKind::Base)),
        answer: schema.add_text_field("answer", analysed(TermKind::Base)),
        question_reading: schema.add_text_field("question_reading", analysed(TermKind::Reading)),
        reading_bigram: schema.add_text_field("reading_bigram", analysed(TermKind::ReadingBigram)),
        question_bigram: schema.add_text_field("question_bigram", analysed(TermKind::Bigram)),
        english_question: schema.add_text_field("english_question", english.clone()),
        english_answer: schema.add_text_field("english_answer", english),
    };
    let index = tantivy::Index::create_in_ram(schema.build());
    register_tokenizers(index.tokenizers());
    let mut writer: IndexWriter = index.writer_with_num_threads(1, 50_000_000)?;
    for (ordinal, entry) in entries.iter().enumerate() {
        let question = question_side(entry);
        let mut doc = TantivyDocument::default();
        doc.add_u64(fields.ordinal, ordinal as u64);
        doc.add_text(fields.question, &question);
        doc.add_text(fields.answer, &entry.answer);
        doc.add_text(fields.question_reading, &question);
        doc.add_text(fields.reading_bigram, &question);
        doc.add_text(fields.question_bigram, &question);
        if let Some(text) = &entry.question_en {
            doc.add_text(fields.english_question, text);
        }
        if let Some(text) = &entry.answer_en {
            doc.add_text(fields.english_answer, text);
        }
        writer.add_document(doc)?;
    }
    writer.commit()?;
    let reader = index
        .reader_builder()
        .reload_policy(ReloadPolicy::Manual)
        .try_into()?;
    let searcher = reader.searcher();
    let mut ordinals = Vec::new();
    for segment in searcher.segment_readers() {
        let column = segment.fast_fields().u64("ordinal")?;
        ordinals.push(
            (0..segment.max_doc())
                .map(|doc| column.first(doc).unwrap_or(0) as u32)
                .collect(),
        );
    }
    Ok((reader, fields, ordinals))
}

fn register_tokenizers(manager: &TokenizerManager) {
    for kind in [
        TermKind::Base,
        TermKind::Reading,
        TermKind::Bigram,
        TermKind::ReadingBigram,
    ] {
        manager.register(kind.tokenizer_name(), JapaneseTokenizer(kind));
    }
}
