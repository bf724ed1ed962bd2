//! Links in a comment: found in the raw text, allowed only to the domains the operator lists.
//!
//! A link is a host after `scheme://`, a host starting with `www.`, or a bare domain name:
//! dot-separated labels of letters, digits, `-` or `_`, the last (the top-level domain) of two
//! or more ASCII letters (`example.com`, `t.me/x`, `bit.ly/…`) or one of the configured
//! Cyrillic top-level domains (`сайт.рф`, `акимат.қаз`). That spares `т.е.`, `г.Алматы`,
//! `3.14` and `e.g.`, but not a missed space between two Latin words (`Mr.Smith`), which is
//! held for review like a link; the rule holds, it does not hide. Words after a `/`, `?`, `=`,
//! `#` or `&` are a link's path or query, not another link.
//!
//! The text is read after NFKC and lower case, with the full-width and ideographic full stops
//! read as dots, so `ｂｉｔ．ｌｙ` is `bit.ly`. A link spelled out with spaces (`bit . ly`,
//! `bit dot ly`) is not found.
//!
//! A host is allowed when it is an allowed domain or a subdomain of one: with `gov.kz`,
//! `gov.kz` and `almaty.gov.kz` pass, `gov.kz.example.com` and `notgov.kz` do not.

use unicode_normalization::UnicodeNormalization;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct LinkPolicy {
    /// Lower case, without a leading dot.
    allow: Vec<Box<str>>,
    /// Lower case, without a leading dot.
    cyrillic_tlds: Vec<Box<str>>,
}

impl LinkPolicy {
    pub(crate) fn new(allow: Vec<Box<str>>, cyrillic_tlds: Vec<Box<str>>) -> LinkPolicy {
        LinkPolicy { allow, cyrillic_tlds }
    }

    /// Whether `text` has a link to a host that is not allowed.
    pub(crate) fn has_disallowed_link(&self, text: &str) -> bool {
        if !might_have_link(text) {
            return false;
        }
        let view: String = text
            .nfkc()
            .flat_map(char::to_lowercase)
            .filter(|c| !is_invisible(*c))
            .map(|c| if is_dot(c) { '.' } else { c })
            .collect();
        view.split(|c: char| c.is_whitespace() || c.is_control())
            .any(|token| self.token_has_disallowed(token))
    }

    fn token_has_disallowed(&self, token: &str) -> bool {
        let mut rest = token;
        let mut offset = 0;
        while let Some(start) = rest.find(is_host_char) {
            let run_start = offset + start;
            let after = &rest[start..];
            let len = after.find(|c: char| !is_host_char(c)).unwrap_or(after.len());
            let run = &after[..len];
            let before = &token[..run_start];
            let host = run.trim_matches('.');
            let link = if before.ends_with("://") {
                !host.is_empty()
            } else if before.ends_with(['/', '?', '=', '#', '&', '%']) {
                false
            } else {
                (host.starts_with("www.") && host.len() > 4) || self.is_domain(host)
            };
            if link && !self.is_allowed(host) {
                return true;
            }
            offset = run_start + len;
            rest = &token[offset..];
        }
        false
    }

    fn is_domain(&self, host: &str) -> bool {
        let mut labels = host.split('.');
        let Some(tld) = labels.next_back() else { return false };
        let mut count = 1;
        for label in labels {
            if label.is_empty() {
                return false;
            }
            count += 1;
        }
        count >= 2
            && ((tld.len() >= 2 && tld.chars().all(|c| c.is_ascii_lowercase()))
                || self.cyrillic_tlds.iter().any(|t| **t == *tld))
    }

    fn is_allowed(&self, host: &str) -> bool {
        self.allow.iter().any(|domain| {
            host == &**domain
                || host.strip_suffix(&**domain).is_some_and(|sub| sub.ends_with('.') && sub.len() > 1)
        })
    }
}

/// A cheap look for what every link has: a dot between two letters or digits, or `//`. Most
/// comments have neither (a full stop is followed by a space or ends the text).
fn might_have_link(text: &str) -> bool {
    let mut chars = text.chars();
    let (mut before, mut current) = (' ', chars.next().unwrap_or(' '));
    for next in chars {
        if is_dot(current) && before.is_alphanumeric() && next.is_alphanumeric() {
            return true;
        }
        if matches!(current, '/' | '／') && matches!(next, '/' | '／') {
            return true;
        }
        (before, current) = (current, next);
    }
    false
}

fn is_dot(c: char) -> bool {
    matches!(c, '.' | '．' | '。' | '｡' | '․' | '﹒')
}

fn is_host_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '.' | '-' | '_')
}

fn is_invisible(c: char) -> bool {
    matches!(c, '\u{00AD}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}')
}

#[cfg(test)]
mod tests {
    use super::LinkPolicy;

    fn policy() -> LinkPolicy {
        LinkPolicy::new(vec!["gov.kz".into(), "egov.kz".into()], vec!["рф".into(), "қаз".into()])
    }

    #[test]
    fn finds_links() {
        let p = policy();
        for text in [
            "смотрите bit.ly/abc",
            "пишите в t.me/spam",
            "https://example.com/путь",
            "http://localhost:8080",
            "www.example",
            "(example.com)",
            "сайт.рф",
            "ｂｉｔ．ｌｙ/x",
            "https://gov.kz@evil.com/",
            "gov.kz.evil.com",
            "notgov.kz",
            "gоv.kz",
        ] {
            assert!(p.has_disallowed_link(text), "{text}");
        }
    }

    #[test]
    fn spares_allowed_domains_and_ordinary_dots() {
        let p = policy();
        for text in [
            "Подробнее на egov.kz",
            "https://www.gov.kz/memleket/entities/almaty/press/news/details/1?lang=ru",
            "almaty.gov.kz.",
            "т.е. дорога в г.Алматы, ул.Абая 3.14",
            "e.g. a.m. U.S.",
            "Дорога плохая.Когда починят",
            "Спасибо за встречу",
            "в 10.30 у школы №5",
        ] {
            assert!(!p.has_disallowed_link(text), "{text}");
        }
    }
}
