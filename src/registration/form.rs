//! The registration forms read into typed values: a form body (repeated names kept), what the pages show and send
//! back ([`Values`]), and the checks that turn it into a [`Profile`], a push subscription, e-mail address and the
//! preferences' [`Delivery`] choices, each refusal a [`FieldError`] naming its field.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::{AgeBand, QuietHours, Settings};
use crate::config::Config;
use crate::messages::{Language, Msg, fill};
use crate::residents::{District, EmailAddress, PushSubscription};

#[derive(Debug, Deserialize)]
pub(crate) struct LangQuery {
    pub(super) lang: Option<String>,
    /// The address to fill in (from 「メールアドレスを直す」).
    pub(super) email: Option<String>,
}

pub(super) fn ui_language(requested: Option<&str>) -> Language {
    Language::or_japanese(requested)
}

/// A form body: repeated names (interests, topics) keep every value.
pub(super) struct Form(Vec<(String, String)>);

impl Form {
    pub(super) fn parse(body: &[u8]) -> Form {
        Form(form_urlencoded::parse(body).into_owned().collect())
    }

    pub(super) fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.trim())
            .unwrap_or("")
    }

    pub(super) fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(key, _)| key == name)
            .map(|(_, value)| value.trim().to_owned())
            .filter(|value| !value.is_empty())
            .collect()
    }
}

/// What the forms show and send back.
#[derive(Debug, Clone, Default)]
pub(super) struct Values {
    pub(super) email: String,
    pub(super) push: String,
    pub(super) district: String,
    pub(super) age_band: String,
    pub(super) birth_year: String,
    pub(super) interests: Vec<String>,
    pub(super) language: String,
    pub(super) consent: bool,
    pub(super) topics: Vec<String>,
    pub(super) quiet_from: String,
    pub(super) quiet_until: String,
    pub(super) quiet_none: bool,
    pub(super) paused: bool,
}

impl Values {
    pub(super) fn from_form(form: &Form) -> Values {
        Values {
            email: form.get("email").to_owned(),
            push: form.get("push").to_owned(),
            district: form.get("district").to_owned(),
            age_band: form.get("age_band").to_owned(),
            birth_year: form.get("birth_year").to_owned(),
            interests: form.all("interests"),
            language: form.get("language").to_owned(),
            consent: form.get("consent") == "yes",
            topics: form.all("topics"),
            quiet_from: form.get("quiet_from").to_owned(),
            quiet_until: form.get("quiet_until").to_owned(),
            quiet_none: form.get("quiet_none") == "yes",
            paused: form.get("paused") == "yes",
        }
    }

    pub(super) fn of_settings(settings: &Settings, config: &Config) -> Values {
        Values {
            district: settings.district.clone().unwrap_or_default(),
            age_band: settings
                .band()
                .map(|b| b.code().to_owned())
                .unwrap_or_default(),
            interests: settings.interests.clone(),
            language: settings.language.clone(),
            topics: config
                .interests
                .iter()
                .filter(|topic| !settings.muted_topics.contains(topic))
                .cloned()
                .collect(),
            quiet_from: QuietHours::format(settings.quiet.from_min),
            quiet_until: QuietHours::format(settings.quiet.until_min),
            quiet_none: settings.quiet.none(),
            paused: settings.paused,
            ..Values::default()
        }
    }
}

/// A field the form refused, and why (shown above the form again): the message names the field itself, in the
/// page's language.
#[derive(Debug, Clone)]
pub(super) struct FieldError {
    pub(super) field: &'static str,
    pub(super) message: String,
}

impl FieldError {
    fn new(field: &'static str, lang: Language, msg: Msg) -> FieldError {
        FieldError {
            field,
            message: lang.say(msg).to_owned(),
        }
    }
}

/// What a resident chose, checked: applied at once (preferences, Web Push) or when the e-mail is confirmed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct Profile {
    pub(super) district: String,
    pub(super) birth_date: Option<String>,
    pub(super) age_band: Option<String>,
    pub(super) interests: Vec<String>,
    pub(super) language: String,
}

pub(super) fn check_profile(
    config: &Config,
    lang: Language,
    values: &Values,
    today: NaiveDate,
    errors: &mut Vec<FieldError>,
) -> Option<Profile> {
    let district = match District::parse(&values.district, &config.districts) {
        Ok(district) => Some(district.as_str().to_owned()),
        Err(_) => {
            errors.push(FieldError::new("district", lang, Msg::DistrictInvalid));
            None
        }
    };
    let mut age_band = None;
    let mut birth_date = None;
    if !values.birth_year.is_empty() {
        match values
            .birth_year
            .parse::<i32>()
            .ok()
            .and_then(|year| super::birth_date_of_year(year, today))
        {
            Some(date) => {
                birth_date = Some(date);
                age_band = Some(AgeBand::of_age(super::age_on(date, today)));
            }
            None => errors.push(FieldError {
                field: "birth_year",
                message: fill(
                    lang.say(Msg::BirthYearInvalid),
                    &[("latest", &today.format("%Y").to_string())],
                ),
            }),
        }
    } else if !values.age_band.is_empty() {
        match AgeBand::parse(&values.age_band) {
            Some(band) => {
                age_band = Some(band);
                birth_date = Some(band.birth_date(today));
            }
            None => errors.push(FieldError::new("age_band", lang, Msg::AgeBandInvalid)),
        }
    }
    let mut interests = Vec::new();
    for interest in &values.interests {
        let label = crate::text::normalize_label(interest);
        if !config.interests.contains(&label) {
            if !errors.iter().any(|e| e.field == "interests") {
                errors.push(FieldError::new("interests", lang, Msg::InterestInvalid));
            }
        } else if !interests.contains(&label) {
            interests.push(label);
        }
    }
    let language = if values.language.is_empty() {
        Some("ja".to_owned())
    } else {
        match crate::residents::parse_language(&values.language) {
            Ok(language) => Some(language),
            Err(_) => {
                errors.push(FieldError::new("language", lang, Msg::LanguageInvalid));
                None
            }
        }
    };
    Some(Profile {
        district: district?,
        birth_date: birth_date.map(|d| d.to_string()),
        age_band: age_band.map(|b| b.code().to_owned()),
        interests,
        language: language?,
    })
}

/// The browser's subscription, checked; `None` (the reason logged) when it cannot be used.
fn parse_push(text: &str, config: &Config) -> Option<PushSubscription> {
    let push: PushSubscription = match serde_json::from_str(text) {
        Ok(push) => push,
        Err(error) => {
            tracing::warn!(%error, "push sign-up refused: not a subscription");
            return None;
        }
    };
    // The residents' own check (http(s) endpoint, base64url keys) through their input type.
    let input = crate::residents::ResidentInput {
        external_id: "push".into(),
        channels: crate::residents::ChannelsInput {
            push: Some(push.clone()),
            ..Default::default()
        },
        ..Default::default()
    };
    if let Err(error) = input.validate(&[], crate::residents::today_in_japan()) {
        tracing::warn!(error = %error.message, "push sign-up refused");
        return None;
    }
    // Only the browsers' push services, at public addresses: the hub calls this URL later.
    if let Err(error) = push.check_endpoint(&config.push_policy()) {
        tracing::warn!(%error, "push sign-up refused: endpoint not allowed");
        return None;
    }
    Some(push)
}

/// A sign-up form, checked: an e-mail address to confirm and/or this browser's push subscription, and the profile.
#[derive(Debug, Clone)]
pub(super) struct Signup {
    pub(super) email: Option<String>,
    pub(super) push: Option<PushSubscription>,
    pub(super) profile: Profile,
}

/// Checks the whole `/register` form; the refusals are listed in the order the page shows them.
pub(super) fn check_signup(
    config: &Config,
    lang: Language,
    values: &Values,
    today: NaiveDate,
) -> Result<Signup, Vec<FieldError>> {
    let mut errors = Vec::new();
    let profile = check_profile(config, lang, values, today, &mut errors);
    let email = if values.email.is_empty() {
        None
    } else {
        match EmailAddress::parse(&values.email) {
            Ok(email) => Some(email.as_str().to_lowercase()),
            Err(_) => {
                errors.push(FieldError::new("email", lang, Msg::EmailInvalid));
                None
            }
        }
    };
    let push = if values.push.is_empty() {
        None
    } else {
        let push = parse_push(&values.push, config);
        if push.is_none() {
            errors.push(FieldError::new("push", lang, Msg::PushInvalid));
        }
        push
    };
    if email.is_none() && push.is_none() && values.email.is_empty() && values.push.is_empty() {
        errors.push(FieldError::new("channel", lang, Msg::ChannelNeeded));
    }
    if !values.consent {
        errors.push(FieldError::new("consent", lang, Msg::ConsentNeeded));
    }
    match profile.filter(|_| errors.is_empty()) {
        Some(profile) => Ok(Signup {
            email,
            push,
            profile,
        }),
        None => Err(errors),
    }
}

/// What the preferences form adds to the profile: topics, quiet hours, 配信停止.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Delivery {
    pub(super) muted_topics: Vec<String>,
    pub(super) quiet: QuietHours,
    pub(super) paused: bool,
}

pub(super) fn check_delivery(
    config: &Config,
    lang: Language,
    values: &Values,
    errors: &mut Vec<FieldError>,
) -> Delivery {
    if values
        .topics
        .iter()
        .any(|topic| !config.interests.contains(topic))
    {
        errors.push(FieldError::new("topics", lang, Msg::InterestInvalid));
    }
    let muted_topics = config
        .interests
        .iter()
        .filter(|topic| !values.topics.contains(topic))
        .cloned()
        .collect();
    let quiet = if values.quiet_none {
        QuietHours {
            from_min: 0,
            until_min: 0,
        }
    } else {
        match (
            QuietHours::parse_time(&values.quiet_from),
            QuietHours::parse_time(&values.quiet_until),
        ) {
            (Ok(from_min), Ok(until_min)) => QuietHours {
                from_min,
                until_min,
            },
            (Err(_), _) | (_, Err(_)) => {
                errors.push(FieldError::new("quiet", lang, Msg::QuietInvalid));
                QuietHours::default()
            }
        }
    };
    Delivery {
        muted_topics,
        quiet,
        paused: values.paused,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_keep_repeated_fields() {
        let form = Form::parse(
            "interests=%E9%98%B2%E7%81%BD&interests=%E4%BB%8B%E8%AD%B7&email=a%40b.jp".as_bytes(),
        );
        assert_eq!(form.all("interests"), vec!["防災", "介護"]);
        assert_eq!(form.get("email"), "a@b.jp");
    }
}
