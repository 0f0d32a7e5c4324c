//! The console's charts: SVG drawn on the server (no script, no inline style; colours come from the stylesheet).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::frame::{channel_label, jst};
use super::queries::DAY_MS;
use crate::html::escape;

/// A line chart of deliveries per day (one line per channel) (one line per channel), drawn on the server; colours come from the stylesheet.
pub(super) fn chart_svg(start_ms: i64, series: &BTreeMap<String, Vec<i64>>) -> String {
    let (width, height, left, bottom, top) = (720.0, 240.0, 44.0, 28.0, 12.0);
    let days = series.values().map(Vec::len).max().unwrap_or(0).max(2);
    let max = series
        .values()
        .flat_map(|v| v.iter().copied())
        .max()
        .unwrap_or(0)
        .max(1);
    // A top that divides into the four grid steps, so the axis labels are whole and distinct.
    let max = (max + 3) / 4 * 4;
    let x = |i: usize| left + (width - left - 8.0) * i as f64 / (days - 1) as f64;
    let y = |n: i64| top + (height - top - bottom) * (1.0 - n as f64 / max as f64);
    let mut svg = format!(
        "<svg class=\"chart\" viewBox=\"0 0 {width} {height}\" role=\"img\" \
         aria-label=\"過去30日間のチャネル別配信数\">"
    );
    for step in 0..=4 {
        let n = max * step / 4;
        let _ = write!(
            svg,
            "<line class=\"grid\" x1=\"{left}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\"></line>\
             <text class=\"axis\" x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{n}</text>",
            width - 8.0,
            left - 6.0,
            y(n) + 4.0,
            y = y(n)
        );
    }
    for i in (0..days).step_by(7) {
        let _ = write!(
            svg,
            "<text class=\"axis\" x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
            x(i),
            height - 8.0,
            jst(start_ms + i as i64 * DAY_MS, "%-m/%-d")
        );
    }
    for (channel, values) in series {
        let points: Vec<String> = values
            .iter()
            .enumerate()
            .map(|(i, n)| format!("{:.1},{:.1}", x(i), y(*n)))
            .collect();
        let _ = write!(
            svg,
            "<polyline class=\"series ch-{}\" points=\"{}\"><title>{}</title></polyline>",
            escape(channel),
            points.join(" "),
            channel_label(channel)
        );
    }
    svg.push_str("</svg>");
    svg
}

/// Horizontal bars, one per label, with the count at the end (an SVG drawn here: no script, no inline style).
pub(super) fn bars_svg(caption: &str, bars: &[(String, i64)]) -> String {
    let (width, row, left) = (640.0, 28.0, 150.0);
    let height = row * bars.len() as f64 + 8.0;
    let max = bars.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1);
    let mut svg = format!(
        "<svg class=\"chart bars\" viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"{}\">",
        escape(caption)
    );
    for (i, (label, count)) in bars.iter().enumerate() {
        let y = 4.0 + row * i as f64;
        let length = (width - left - 60.0) * *count as f64 / max as f64;
        let _ = write!(
            svg,
            "<text class=\"axis\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>\
             <rect class=\"bar\" x=\"{left}\" y=\"{y:.1}\" width=\"{length:.1}\" height=\"{:.1}\"></rect>\
             <text class=\"axis\" x=\"{:.1}\" y=\"{:.1}\">{count}</text>",
            left - 8.0,
            y + row * 0.6,
            escape(label),
            row - 8.0,
            left + length + 6.0,
            y + row * 0.6,
        );
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chart_has_a_line_per_channel() {
        let mut series = BTreeMap::new();
        series.insert("line".to_owned(), vec![0, 3, 1]);
        series.insert("email".to_owned(), vec![2, 0, 0]);
        let svg = chart_svg(0, &series);
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert!(svg.contains("ch-line") && svg.contains("ch-email"));
        assert!(!svg.contains("style="));
    }

    #[test]
    fn bars_are_escaped_and_scaled() {
        let svg = bars_svg("Q1 <どれ>", &[("はい".into(), 4), ("<b>".into(), 2)]);
        assert!(svg.contains("aria-label=\"Q1 &lt;どれ&gt;\""));
        assert!(svg.contains("&lt;b&gt;") && !svg.contains("<b>"));
        assert_eq!(svg.matches("<rect").count(), 2);
    }
}
