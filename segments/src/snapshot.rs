//! The fast evaluator: per-attribute roaring bitmaps over a snapshot of the residents.

use std::borrow::{Borrow, Cow};
use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;

use chrono::{Datelike, NaiveDate};
use roaring::{MultiOps, RoaringBitmap};
use serde::Serialize;

use crate::profile::{Profile, YEAR_STEP, date_key, month_day};
use crate::rule::{Comparison, Condition, NumberTest, Rule, TextTest};

/// Residents indexed by attribute, for evaluating rules in set operations.
///
/// Ages are not stored: birth dates are indexed by year and day, and `age >= 65` on a date
/// becomes "born on or before that date 65 years earlier", a range lookup.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    universe: RoaringBitmap,
    with_district: RoaringBitmap,
    with_birth_date: RoaringBitmap,
    districts: HashMap<String, RoaringBitmap>,
    languages: HashMap<String, RoaringBitmap>,
    interests: HashMap<String, RoaringBitmap>,
    channels: HashMap<String, RoaringBitmap>,
    birth_months: [RoaringBitmap; 12],
    births: BirthIndex,
}

/// Birth dates by year: whole years answer as one bitmap, the year at each end of a range
/// by a binary search over that year's residents sorted by day.
#[derive(Debug, Clone, Default)]
struct BirthIndex {
    years: BTreeMap<i32, BirthYear>,
}

#[derive(Debug, Clone, Default)]
struct BirthYear {
    everyone: RoaringBitmap,
    /// Month_day of each resident born this year, sorted; `ids[i]` was born on `days[i]`.
    /// Two arrays rather than pairs: 6 bytes a resident instead of 8, and a denser search.
    days: Vec<u16>,
    ids: Vec<u32>,
}

/// Where the snapshot's memory goes, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct MemoryUsage {
    /// All bitmaps, as roaring's serialized size (close to their size in memory).
    pub bitmaps: usize,
    /// The per-year day lists of the birth date index.
    pub birth_days: usize,
    /// Attribute values used as keys (district names, interests, …).
    pub keys: usize,
}

impl MemoryUsage {
    pub fn total(&self) -> usize {
        self.bitmaps + self.birth_days + self.keys
    }
}

/// Counts inside one segment, for a preview without personal data.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SegmentSummary {
    pub count: u64,
    /// Residents per district; those without one are under `""`.
    pub by_district: BTreeMap<String, u64>,
    /// Residents per age band (`"0-9"`, `"10-19"`, …, `"90+"`, and `"unknown"`).
    pub by_age_band: BTreeMap<String, u64>,
    pub by_language: BTreeMap<String, u64>,
}

impl Snapshot {
    /// Indexes residents by id. Ids need not come in order; when an id appears twice the
    /// later profile wins.
    pub fn build<P: Borrow<Profile>>(residents: impl IntoIterator<Item = (u32, P)>) -> Snapshot {
        let mut residents: Vec<(u32, P)> = residents.into_iter().collect();
        // Stable, so among equal ids the last given stays last; the hub usually sends them sorted,
        // which the sort detects in linear time.
        residents.sort_by_key(|(id, _)| *id);

        let mut builder = Builder::default();
        for (index, (id, profile)) in residents.iter().enumerate() {
            let later_duplicate = residents
                .get(index + 1)
                .is_some_and(|(next_id, _)| next_id == id);
            if !later_duplicate {
                builder.add(*id, profile.borrow());
            }
        }
        builder.finish()
    }

    /// Replaces residents in place: `(id, Some(profile))` adds or updates one, `(id, None)` removes it. When
    /// an id appears twice the later entry wins. The result evaluates every rule exactly as
    /// [`Snapshot::build`] over the same residents would (a property test checks it), at a cost that grows
    /// with the number of changes, not the number of residents: removal is one bitmap difference per index
    /// and a filter of the birth years the changed residents were in.
    pub fn apply<P: Borrow<Profile>>(
        &mut self,
        changes: impl IntoIterator<Item = (u32, Option<P>)>,
    ) {
        let mut latest: BTreeMap<u32, Option<P>> = BTreeMap::new();
        for (id, profile) in changes {
            latest.insert(id, profile);
        }
        if latest.is_empty() {
            return;
        }
        let touched: RoaringBitmap = latest.keys().copied().collect();
        self.remove_all(&touched);
        let mut added = Builder::default();
        for (id, profile) in &latest {
            if let Some(profile) = profile {
                added.add(*id, profile.borrow());
            }
        }
        self.merge(added.finish());
    }

    /// Takes `ids` out of every index; empty entries are dropped so that keys do not linger.
    fn remove_all(&mut self, ids: &RoaringBitmap) {
        let present = &self.universe & ids;
        if present.is_empty() {
            return;
        }
        self.universe -= &present;
        self.with_district -= &present;
        self.with_birth_date -= &present;
        for map in [
            &mut self.districts,
            &mut self.languages,
            &mut self.interests,
            &mut self.channels,
        ] {
            map.retain(|_, bitmap| {
                *bitmap -= &present;
                !bitmap.is_empty()
            });
        }
        for month in &mut self.birth_months {
            *month -= &present;
        }
        self.births.years.retain(|_, year| {
            if year.everyone.is_disjoint(&present) {
                return true;
            }
            year.everyone -= &present;
            let mut kept = 0;
            for index in 0..year.ids.len() {
                if !present.contains(year.ids[index]) {
                    year.days[kept] = year.days[index];
                    year.ids[kept] = year.ids[index];
                    kept += 1;
                }
            }
            year.days.truncate(kept);
            year.ids.truncate(kept);
            !year.everyone.is_empty()
        });
    }

    /// Adds the residents of `other`, none of whom is in `self`.
    fn merge(&mut self, other: Snapshot) {
        self.universe |= other.universe;
        self.with_district |= other.with_district;
        self.with_birth_date |= other.with_birth_date;
        for (map, additions) in [
            (&mut self.districts, other.districts),
            (&mut self.languages, other.languages),
            (&mut self.interests, other.interests),
            (&mut self.channels, other.channels),
        ] {
            for (key, ids) in additions {
                *map.entry(key).or_default() |= ids;
            }
        }
        for (month, ids) in self.birth_months.iter_mut().zip(other.birth_months) {
            *month |= ids;
        }
        for (number, added) in other.births.years {
            let year = self.births.years.entry(number).or_default();
            year.everyone |= added.everyone;
            if added.ids.len() <= 64 {
                // A few at a time (a registration, an edit): insert each at its place.
                for (day, id) in added.days.into_iter().zip(added.ids) {
                    let at = year.days.partition_point(|d| *d <= day);
                    year.days.insert(at, day);
                    year.ids.insert(at, id);
                }
            } else {
                let mut by_day: Vec<(u16, u32)> = year
                    .days
                    .iter()
                    .copied()
                    .zip(year.ids.iter().copied())
                    .collect();
                by_day.extend(added.days.into_iter().zip(added.ids));
                by_day.sort_unstable();
                (year.days, year.ids) = by_day.into_iter().unzip();
            }
        }
    }

    fn bitmaps(&self) -> impl Iterator<Item = &RoaringBitmap> {
        [&self.universe, &self.with_district, &self.with_birth_date]
            .into_iter()
            .chain(self.districts.values())
            .chain(self.languages.values())
            .chain(self.interests.values())
            .chain(self.channels.values())
            .chain(self.birth_months.iter())
            .chain(self.births.years.values().map(|year| &year.everyone))
    }

    /// Number of residents in the snapshot.
    pub fn len(&self) -> u64 {
        self.universe.len()
    }

    pub fn is_empty(&self) -> bool {
        self.universe.is_empty()
    }

    /// Every resident id in the snapshot.
    pub fn residents(&self) -> &RoaringBitmap {
        &self.universe
    }

    /// Ids of the residents `rule` matches on `eval_date` (the send date in Asia/Tokyo).
    /// Agrees with [`Rule::matches`] resident by resident.
    pub fn evaluate(&self, rule: &Rule, eval_date: NaiveDate) -> RoaringBitmap {
        self.eval(rule, date_key(eval_date)).into_owned()
    }

    /// How many residents `rule` matches on `eval_date`.
    pub fn count(&self, rule: &Rule, eval_date: NaiveDate) -> u64 {
        self.eval(rule, date_key(eval_date)).len()
    }

    /// Memory held by the indexes.
    pub fn memory_usage(&self) -> MemoryUsage {
        let keys = [
            &self.districts,
            &self.languages,
            &self.interests,
            &self.channels,
        ]
        .iter()
        .flat_map(|map| map.keys())
        .map(|key| key.len())
        .sum();
        MemoryUsage {
            bitmaps: self.bitmaps().map(RoaringBitmap::serialized_size).sum(),
            birth_days: self
                .births
                .years
                .values()
                .map(|year| {
                    year.days.capacity() * size_of::<u16>() + year.ids.capacity() * size_of::<u32>()
                })
                .sum(),
            keys,
        }
    }

    /// Counts by district, age band and language inside `segment` (e.g. from [`Snapshot::evaluate`]).
    pub fn summarize(&self, segment: &RoaringBitmap, eval_date: NaiveDate) -> SegmentSummary {
        let today = date_key(eval_date);
        let mut summary = SegmentSummary {
            count: segment.len(),
            ..SegmentSummary::default()
        };
        for (district, residents) in &self.districts {
            insert_nonzero(
                &mut summary.by_district,
                district,
                segment.intersection_len(residents),
            );
        }
        insert_nonzero(
            &mut summary.by_district,
            "",
            segment.difference_len(&self.with_district),
        );
        for (language, residents) in &self.languages {
            insert_nonzero(
                &mut summary.by_language,
                language,
                segment.intersection_len(residents),
            );
        }
        for decade in 0..10u32 {
            let youngest = decade * 10;
            let label = crate::age_band(Some(i64::from(youngest)));
            // Ages from 10d to 10d+9 are birth keys after "10d+10 years back" and on or before
            // "10d years back"; the first band takes anyone younger and the last anyone older.
            let lower = if decade == 9 {
                Bound::Unbounded
            } else {
                Bound::Excluded(years_before(today, i64::from(youngest) + 10))
            };
            let upper = if decade == 0 {
                Bound::Unbounded
            } else {
                Bound::Included(years_before(today, i64::from(youngest)))
            };
            let band = self.births.born_between(lower, upper);
            insert_nonzero(
                &mut summary.by_age_band,
                &label,
                segment.intersection_len(&band),
            );
        }
        insert_nonzero(
            &mut summary.by_age_band,
            "unknown",
            segment.difference_len(&self.with_birth_date),
        );
        summary
    }

    fn eval(&self, rule: &Rule, today: i64) -> Cow<'_, RoaringBitmap> {
        match rule {
            Rule::All => Cow::Borrowed(&self.universe),
            Rule::Not(inner) => Cow::Owned(&self.universe - self.eval(inner, today).as_ref()),
            Rule::Or(parts) => Cow::Owned(
                parts
                    .iter()
                    .map(|part| self.eval(part, today))
                    .collect::<Vec<_>>()
                    .iter()
                    .map(|bitmap| &**bitmap)
                    .union(),
            ),
            Rule::And(parts) => self.eval_and(parts, today),
            Rule::Condition(condition) => self.eval_condition(condition, today),
        }
    }

    /// `a and not b and c` as `(a ∩ c) − b`, so a negated part never builds its complement.
    fn eval_and(&self, parts: &[Rule], today: i64) -> Cow<'_, RoaringBitmap> {
        let mut kept: Vec<Cow<'_, RoaringBitmap>> = Vec::new();
        let mut removed: Vec<Cow<'_, RoaringBitmap>> = Vec::new();
        for part in parts {
            match part {
                Rule::Not(inner) => removed.push(self.eval(inner, today)),
                part => kept.push(self.eval(part, today)),
            }
        }
        // Smallest first: every intersection after it is cheaper.
        kept.sort_by_key(|bitmap| bitmap.len());
        let mut result = match kept.len() {
            0 => Cow::Borrowed(&self.universe),
            1 => kept.remove(0),
            _ => Cow::Owned(kept.iter().map(|bitmap| &**bitmap).intersection()),
        };
        for bitmap in &removed {
            if result.is_empty() {
                break;
            }
            *result.to_mut() -= bitmap.as_ref();
        }
        result
    }

    fn eval_condition(&self, condition: &Condition, today: i64) -> Cow<'_, RoaringBitmap> {
        match condition {
            Condition::Age(test) => Cow::Owned(self.eval_age(test, today)),
            Condition::BirthMonth(test) => Cow::Owned(self.eval_birth_month(test)),
            Condition::District(test) => eval_text(&self.districts, &self.with_district, test),
            Condition::Language(test) => eval_text(&self.languages, &self.universe, test),
            Condition::InterestsHas(interest) => lookup(&self.interests, interest),
            Condition::ChannelsHas(channel) => lookup(&self.channels, channel),
        }
    }

    fn eval_age(&self, test: &NumberTest, today: i64) -> RoaringBitmap {
        match test {
            NumberTest::Compare(comparison, age) => self.age_compare(*comparison, *age, today),
            NumberTest::In(ages) => ages
                .iter()
                .map(|age| self.age_compare(Comparison::Equal, *age, today))
                .union(),
        }
    }

    /// age(b) >= n exactly when b's date key <= today's key - n years (see `profile::date_key`).
    fn age_compare(&self, comparison: Comparison, age: u32, today: i64) -> RoaringBitmap {
        // In i64 so that `age + 1` cannot overflow for an age that code (not the parser) chose.
        let age = i64::from(age);
        let at_least = |years: i64| years_before(today, years);
        let births = &self.births;
        match comparison {
            Comparison::GreaterOrEqual => {
                births.born_between(Bound::Unbounded, Bound::Included(at_least(age)))
            }
            Comparison::Greater => {
                births.born_between(Bound::Unbounded, Bound::Included(at_least(age + 1)))
            }
            Comparison::LessOrEqual => {
                births.born_between(Bound::Excluded(at_least(age + 1)), Bound::Unbounded)
            }
            Comparison::Less => {
                births.born_between(Bound::Excluded(at_least(age)), Bound::Unbounded)
            }
            Comparison::Equal => births.born_between(
                Bound::Excluded(at_least(age + 1)),
                Bound::Included(at_least(age)),
            ),
            Comparison::NotEqual => {
                &self.with_birth_date
                    - births.born_between(
                        Bound::Excluded(at_least(age + 1)),
                        Bound::Included(at_least(age)),
                    )
            }
        }
    }

    fn eval_birth_month(&self, test: &NumberTest) -> RoaringBitmap {
        (1..=12u32)
            .filter(|month| match test {
                NumberTest::Compare(comparison, value) => comparison.holds(*month, *value),
                NumberTest::In(values) => values.contains(month),
            })
            .map(|month| &self.birth_months[month as usize - 1])
            .union()
    }
}

/// Builds a [`Snapshot`] from residents streamed one at a time, without holding their profiles: the hub
/// reads its residents in id order and pushes each as it is read.
#[derive(Default)]
pub struct SnapshotBuilder {
    inner: Builder,
    last: Option<u32>,
    /// Residents that came out of id order (or repeated an id): applied as changes at the end.
    late: Vec<(u32, Profile)>,
}

impl SnapshotBuilder {
    pub fn new() -> SnapshotBuilder {
        SnapshotBuilder::default()
    }

    /// Adds one resident; in increasing id order this is an append, otherwise the later profile still wins.
    pub fn push(&mut self, id: u32, profile: &Profile) {
        if self.last.is_none_or(|last| id > last) {
            self.inner.add(id, profile);
            self.last = Some(id);
        } else {
            self.late.push((id, profile.clone()));
        }
    }

    pub fn finish(self) -> Snapshot {
        let mut snapshot = self.inner.finish();
        if !self.late.is_empty() {
            snapshot.apply(
                self.late
                    .into_iter()
                    .map(|(id, profile)| (id, Some(profile))),
            );
        }
        snapshot
    }
}

/// Id lists gathered in increasing id order, turned into bitmaps once at the end.
///
/// Appending to a list and converting it with `from_sorted_iter` is linear; pushing into a
/// bitmap one id at a time is not (roaring's `try_push` looks for the maximum of a dense
/// container by scanning it from the end).
#[derive(Default)]
struct Builder {
    universe: Vec<u32>,
    with_district: Vec<u32>,
    with_birth_date: Vec<u32>,
    districts: HashMap<String, Vec<u32>>,
    languages: HashMap<String, Vec<u32>>,
    interests: HashMap<String, Vec<u32>>,
    channels: HashMap<String, Vec<u32>>,
    birth_months: [Vec<u32>; 12],
    /// (month_day, id) per birth year, in id order until `finish` sorts them by day.
    births: BTreeMap<i32, Vec<(u16, u32)>>,
}

impl Builder {
    /// Adds one resident; ids arrive in strictly increasing order.
    fn add(&mut self, id: u32, profile: &Profile) {
        self.universe.push(id);
        if let Some(district) = &profile.district {
            self.with_district.push(id);
            push_to(&mut self.districts, district, id);
        }
        push_to(&mut self.languages, &profile.language, id);
        for interest in &profile.interests {
            push_to(&mut self.interests, interest, id);
        }
        for channel in &profile.channels {
            push_to(&mut self.channels, channel, id);
        }
        if let Some(birth) = profile.birth_date {
            self.with_birth_date.push(id);
            self.birth_months[birth.month0() as usize].push(id);
            self.births
                .entry(birth.year())
                .or_default()
                .push((month_day(birth), id));
        }
    }

    fn finish(self) -> Snapshot {
        let years = self
            .births
            .into_iter()
            .map(|(year, mut by_day)| {
                let everyone = to_bitmap(by_day.iter().map(|(_, id)| *id).collect());
                by_day.sort_unstable();
                let (days, ids) = by_day.into_iter().unzip();
                (
                    year,
                    BirthYear {
                        everyone,
                        days,
                        ids,
                    },
                )
            })
            .collect();
        Snapshot {
            universe: to_bitmap(self.universe),
            with_district: to_bitmap(self.with_district),
            with_birth_date: to_bitmap(self.with_birth_date),
            districts: to_bitmaps(self.districts),
            languages: to_bitmaps(self.languages),
            interests: to_bitmaps(self.interests),
            channels: to_bitmaps(self.channels),
            birth_months: self.birth_months.map(to_bitmap),
            births: BirthIndex { years },
        }
    }
}

fn push_to(lists: &mut HashMap<String, Vec<u32>>, key: &str, id: u32) {
    // Look up by &str first so the common case allocates nothing.
    if let Some(ids) = lists.get_mut(key) {
        // A value listed twice for one resident adds the id once.
        if ids.last() != Some(&id) {
            ids.push(id);
        }
    } else {
        lists.insert(key.to_string(), vec![id]);
    }
}

/// Ids in increasing order into a run-compressed bitmap.
fn to_bitmap(ids: Vec<u32>) -> RoaringBitmap {
    // The builder only produces increasing ids; were one out of order, inserting is still right.
    let mut bitmap = RoaringBitmap::from_sorted_iter(ids.iter().copied())
        .unwrap_or_else(|_| ids.iter().copied().collect());
    bitmap.optimize();
    bitmap
}

fn to_bitmaps(lists: HashMap<String, Vec<u32>>) -> HashMap<String, RoaringBitmap> {
    lists
        .into_iter()
        .map(|(key, ids)| (key, to_bitmap(ids)))
        .collect()
}

fn years_before(date_key: i64, years: i64) -> i64 {
    date_key - years * YEAR_STEP
}

fn lookup<'a>(map: &'a HashMap<String, RoaringBitmap>, key: &str) -> Cow<'a, RoaringBitmap> {
    map.get(key)
        .map_or_else(|| Cow::Owned(RoaringBitmap::new()), Cow::Borrowed)
}

/// `with_value` is everyone who has the attribute: `!=` never matches those without it.
fn eval_text<'a>(
    map: &'a HashMap<String, RoaringBitmap>,
    with_value: &'a RoaringBitmap,
    test: &TextTest,
) -> Cow<'a, RoaringBitmap> {
    match test {
        TextTest::Equals(text) => lookup(map, text),
        TextTest::NotEquals(text) => Cow::Owned(with_value - lookup(map, text).as_ref()),
        TextTest::In(texts) => Cow::Owned(
            texts
                .iter()
                .filter_map(|text| map.get(text.as_str()))
                .union(),
        ),
    }
}

fn insert_nonzero(counts: &mut BTreeMap<String, u64>, key: &str, count: u64) {
    if count > 0 {
        counts.insert(key.to_string(), count);
    }
}

impl BirthIndex {
    /// Residents whose birth date key lies within the bounds.
    fn born_between(&self, lower: Bound<i64>, upper: Bound<i64>) -> RoaringBitmap {
        let low = match lower {
            Bound::Included(key) => key,
            Bound::Excluded(key) => key + 1,
            Bound::Unbounded => i64::MIN / 2,
        };
        let high = match upper {
            Bound::Included(key) => key,
            Bound::Excluded(key) => key - 1,
            Bound::Unbounded => i64::MAX / 2,
        };
        if low > high {
            return RoaringBitmap::new();
        }
        let (low_year, low_day) = split_key(low);
        let (high_year, high_day) = split_key(high);

        let mut whole_years = Vec::new();
        let mut partial_ids = Vec::new();
        for (&year, births) in self.years.range(low_year..=high_year) {
            let first_day = if year == low_year { low_day } else { 0 };
            let last_day = if year == high_year {
                high_day
            } else {
                u16::MAX
            };
            let whole = first_day <= births.first_day() && last_day >= births.last_day();
            if whole {
                whole_years.push(&births.everyone);
            } else {
                let start = births.days.partition_point(|day| *day < first_day);
                let end = births.days.partition_point(|day| *day <= last_day);
                partial_ids.extend_from_slice(&births.ids[start..end]);
            }
        }
        let mut result = whole_years.into_iter().union();
        if !partial_ids.is_empty() {
            partial_ids.sort_unstable();
            // Sorted and distinct (each resident has one birth date), so this is an append.
            result |= RoaringBitmap::from_sorted_iter(partial_ids).unwrap_or_default();
        }
        result
    }
}

impl BirthYear {
    fn first_day(&self) -> u16 {
        self.days.first().copied().unwrap_or(0)
    }

    fn last_day(&self) -> u16 {
        self.days.last().copied().unwrap_or(0)
    }
}

/// A date key as (year, month_day), clamped to the years chrono can represent.
fn split_key(key: i64) -> (i32, u16) {
    let year = key.div_euclid(YEAR_STEP);
    let day = key.rem_euclid(YEAR_STEP) as u16;
    match i32::try_from(year) {
        Ok(year) => (year, day),
        Err(_) if year < 0 => (i32::MIN, 0),
        Err(_) => (i32::MAX, u16::MAX),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid test date")
    }

    fn resident(birth: Option<NaiveDate>, district: Option<&str>, language: &str) -> Profile {
        Profile {
            birth_date: birth,
            district: district.map(str::to_string),
            language: language.to_string(),
            interests: vec!["防災".to_string()],
            channels: vec!["line".to_string()],
        }
    }

    fn ids(bitmap: &RoaringBitmap) -> Vec<u32> {
        bitmap.iter().collect()
    }

    fn rule(text: &str) -> Rule {
        Rule::parse(text).expect("test rule parses")
    }

    #[test]
    fn age_comparisons_use_the_evaluation_date() {
        let snapshot = Snapshot::build([
            (1, resident(Some(date(1961, 12, 1)), Some("今元"), "ja")),
            (2, resident(Some(date(1961, 12, 2)), Some("仲津"), "ja")),
            (3, resident(None, Some("今元"), "ja")),
        ]);
        let today = date(2026, 12, 1);
        assert_eq!(ids(&snapshot.evaluate(&rule("age >= 65"), today)), [1]);
        assert_eq!(ids(&snapshot.evaluate(&rule("age = 64"), today)), [2]);
        assert_eq!(ids(&snapshot.evaluate(&rule("age != 64"), today)), [1]);
        assert_eq!(
            ids(&snapshot.evaluate(&rule("not age = 64"), today)),
            [1, 3]
        );
        assert_eq!(
            ids(&snapshot.evaluate(&rule("age >= 65"), date(2026, 12, 2))),
            [1, 2]
        );
    }

    #[test]
    fn extreme_numbers_built_in_code_agree_with_the_interpreter() {
        let residents = [
            (1, resident(Some(date(1900, 1, 1)), None, "ja")),
            (2, resident(Some(date(2030, 6, 15)), None, "ja")),
            (3, resident(None, None, "ja")),
        ];
        let snapshot = Snapshot::build(residents.iter().map(|(id, p)| (*id, p)));
        let today = date(2026, 6, 15);
        for value in [0, 1, 12, 13, u32::MAX - 1, u32::MAX] {
            let tests = Comparison::ALL
                .iter()
                .map(|comparison| NumberTest::Compare(*comparison, value))
                .chain([NumberTest::In(vec![value, 0])]);
            for test in tests {
                for condition in [
                    Condition::Age(test.clone()),
                    Condition::BirthMonth(test.clone()),
                ] {
                    let rule = Rule::Condition(condition);
                    let expected: Vec<u32> = residents
                        .iter()
                        .filter(|(_, p)| rule.matches(p, today))
                        .map(|(id, _)| *id)
                        .collect();
                    assert_eq!(ids(&snapshot.evaluate(&rule, today)), expected, "{rule:?}");
                }
            }
        }
    }

    #[test]
    fn missing_districts_never_match_a_district_comparison() {
        let snapshot = Snapshot::build([
            (1, resident(None, Some("今元"), "ja")),
            (2, resident(None, None, "en")),
        ]);
        let today = date(2026, 1, 1);
        assert_eq!(
            ids(&snapshot.evaluate(&rule("district != \"泉\""), today)),
            [1]
        );
        assert_eq!(
            ids(&snapshot.evaluate(&rule("not district = \"泉\""), today)),
            [1, 2]
        );
        assert_eq!(
            ids(&snapshot.evaluate(&rule("language != \"ja\""), today)),
            [2]
        );
    }

    #[test]
    fn the_later_profile_wins_for_a_repeated_id() {
        let snapshot = Snapshot::build([
            (7, resident(None, Some("泉"), "ja")),
            (3, resident(None, Some("泉"), "ja")),
            (7, resident(None, Some("蓑島"), "ja")),
        ]);
        let today = date(2026, 1, 1);
        assert_eq!(snapshot.len(), 2);
        assert_eq!(
            ids(&snapshot.evaluate(&rule("district = \"蓑島\""), today)),
            [7]
        );
        assert_eq!(
            ids(&snapshot.evaluate(&rule("district = \"泉\""), today)),
            [3]
        );
    }

    #[test]
    fn summary_counts_without_personal_data() {
        let snapshot = Snapshot::build([
            (1, resident(Some(date(1950, 1, 1)), Some("今元"), "ja")),
            (2, resident(Some(date(2020, 1, 1)), None, "en")),
            (3, resident(None, Some("今元"), "ja")),
        ]);
        let today = date(2026, 1, 1);
        let summary = snapshot.summarize(&snapshot.evaluate(&Rule::All, today), today);
        assert_eq!(summary.count, 3);
        assert_eq!(summary.by_district.get("今元"), Some(&2));
        assert_eq!(summary.by_district.get(""), Some(&1));
        assert_eq!(summary.by_age_band.get("70-79"), Some(&1));
        assert_eq!(summary.by_age_band.get("0-9"), Some(&1));
        assert_eq!(summary.by_age_band.get("unknown"), Some(&1));
        assert_eq!(summary.by_language.get("en"), Some(&1));
    }
}
