//! Sentiment of post text with VADER (the rule-based model tuned for social media), aggregated
//! per platform. Compound scores ≥ 0.05 count as positive and ≤ −0.05 as negative, VADER's
//! own thresholds.

use serde::Serialize;
use vader_sentimental::SentimentIntensityAnalyzer;

#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct Sentiment {
    pub posts: usize,
    /// Mean compound score, −1 (negative) to +1 (positive).
    pub mean_compound: f64,
    pub positive: usize,
    pub neutral: usize,
    pub negative: usize,
}

/// The compound score of one text.
pub fn compound(text: &str) -> f64 {
    SentimentIntensityAnalyzer::new()
        .polarity_scores(text)
        .compound
}

/// Aggregates the texts' sentiment.
pub fn sentiment<'a>(texts: impl IntoIterator<Item = &'a str>) -> Sentiment {
    let analyzer = SentimentIntensityAnalyzer::new();
    let mut s = Sentiment::default();
    let mut total = 0.0;
    for t in texts {
        let c = analyzer.polarity_scores(t).compound;
        total += c;
        s.posts += 1;
        if c >= 0.05 {
            s.positive += 1;
        } else if c <= -0.05 {
            s.negative += 1;
        } else {
            s.neutral += 1;
        }
    }
    if s.posts > 0 {
        s.mean_compound = total / s.posts as f64;
    }
    s
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn vader_reads_social_text() {
        assert!(compound("We love this! Best coffee ever :)") > 0.5);
        assert!(compound("Sorry, shipping delays again. Really frustrating.") < -0.3);
        let s = sentiment(["Great news!", "Terrible service.", "The store opens at 9."]);
        assert_eq!((s.posts, s.positive, s.negative, s.neutral), (3, 1, 1, 1));
        assert_eq!(sentiment(std::iter::empty()), Sentiment::default());
    }
}
