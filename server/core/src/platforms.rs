//! Comments from the akimat's social-media accounts: which platforms, what a meeting follows
//! on each, the credential each needs, and what a platform comment carries into the channel.
//!
//! The decree makes commenting "on the official accounts in social networks" mandatory, and
//! every question raised must reach the issue list. Kezdesu reads each platform's comments
//! through its documented API and enters them into the meeting's one moderated channel; the
//! rules of that channel (`crate::live`) treat them as comments with a [`CommentSource`].
//!
//! Nothing here does IO: the clients live in the server's `platforms` module.

use serde::{Deserialize, Serialize};

/// A platform whose comments Kezdesu gathers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SocialPlatform {
    Youtube,
    Telegram,
    Vk,
    Facebook,
}

impl SocialPlatform {
    pub const ALL: [SocialPlatform; 4] =
        [SocialPlatform::Youtube, SocialPlatform::Telegram, SocialPlatform::Vk, SocialPlatform::Facebook];

    pub fn as_str(self) -> &'static str {
        match self {
            SocialPlatform::Youtube => "youtube",
            SocialPlatform::Telegram => "telegram",
            SocialPlatform::Vk => "vk",
            SocialPlatform::Facebook => "facebook",
        }
    }

    pub fn parse(text: &str) -> Option<SocialPlatform> {
        SocialPlatform::ALL.into_iter().find(|platform| platform.as_str() == text)
    }
}

impl std::fmt::Display for SocialPlatform {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// Where a comment came from when it was not typed on Kezdesu's page.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CommentSource {
    pub platform: SocialPlatform,
    /// The platform's id of the comment. A comment enters once per (platform, external_id).
    pub external_id: String,
    /// A link to the comment where the platform has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The platform's id of the author. Staff only: the public form of an event drops it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author_id: Option<String>,
}

impl CommentSource {
    /// The source as everyone may see it: without the author's platform id.
    pub fn public(&self) -> CommentSource {
        CommentSource { author_id: None, ..self.clone() }
    }
}

/// The longest external id, author id, name or link accepted from a platform; real ones are
/// far shorter, so these only refuse absurd input.
pub const MAX_EXTERNAL_ID_CHARS: usize = 256;
pub const MAX_AUTHOR_NAME_CHARS: usize = 100;
pub const MAX_URL_CHARS: usize = 512;

/// What a meeting follows on one platform.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "platform", rename_all = "snake_case", deny_unknown_fields)]
pub enum Follow {
    /// The live chat of a YouTube broadcast. With neither id, the chat of the channel's
    /// active broadcast (the one the restream feeds) is found by itself.
    Youtube {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        live_chat_id: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        video_id: Option<String>,
    },
    /// The comments under one channel post: replies in the channel's linked discussion group
    /// (`chat_id`) to the automatic forward of post `post_id`.
    Telegram { chat_id: i64, post_id: i64 },
    /// The comments of one VK video or wall post of the community `owner_id` (negative).
    Vk {
        owner_id: i64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        video_id: Option<i64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        post_id: Option<i64>,
    },
    /// The comments of one Facebook live video.
    Facebook { live_video_id: String },
}

/// What is wrong with a follow or a credential, for the person typing it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlatformProblem {
    #[error("{0} must be 1 to 128 letters, digits, '-', '_' or '.'")]
    Identifier(&'static str),
    #[error("a VK community's owner_id is negative (minus the community's id)")]
    VkOwner,
    #[error("name exactly one of video_id and post_id")]
    VkObject,
    #[error("{0} must be a positive number")]
    Positive(&'static str),
    #[error("a Telegram discussion group's chat_id is negative")]
    TelegramChat,
    #[error("{0} must be 1 to 4096 visible characters with no spaces")]
    Token(&'static str),
    #[error("{0} is required for {1}")]
    Required(&'static str, &'static str),
    #[error("{0} is not used by {1}")]
    NotUsed(&'static str, &'static str),
}

fn identifier(name: &'static str, value: &str) -> Result<(), PlatformProblem> {
    let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    if value.is_empty() || value.len() > 128 || !value.chars().all(plain) {
        return Err(PlatformProblem::Identifier(name));
    }
    Ok(())
}

impl Follow {
    pub fn platform(&self) -> SocialPlatform {
        match self {
            Follow::Youtube { .. } => SocialPlatform::Youtube,
            Follow::Telegram { .. } => SocialPlatform::Telegram,
            Follow::Vk { .. } => SocialPlatform::Vk,
            Follow::Facebook { .. } => SocialPlatform::Facebook,
        }
    }

    /// Checks the ids' forms; whether they exist is for the platform to say.
    pub fn check(&self) -> Result<(), PlatformProblem> {
        match self {
            Follow::Youtube { live_chat_id, video_id } => {
                if let Some(id) = live_chat_id {
                    identifier("live_chat_id", id)?;
                }
                if let Some(id) = video_id {
                    identifier("video_id", id)?;
                }
                Ok(())
            }
            Follow::Telegram { chat_id, post_id } => {
                if *chat_id >= 0 {
                    return Err(PlatformProblem::TelegramChat);
                }
                if *post_id <= 0 {
                    return Err(PlatformProblem::Positive("post_id"));
                }
                Ok(())
            }
            Follow::Vk { owner_id, video_id, post_id } => {
                if *owner_id >= 0 {
                    return Err(PlatformProblem::VkOwner);
                }
                match (video_id, post_id) {
                    (Some(id), None) | (None, Some(id)) if *id > 0 => Ok(()),
                    (Some(_), None) => Err(PlatformProblem::Positive("video_id")),
                    (None, Some(_)) => Err(PlatformProblem::Positive("post_id")),
                    _ => Err(PlatformProblem::VkObject),
                }
            }
            Follow::Facebook { live_video_id } => identifier("live_video_id", live_video_id),
        }
    }
}

/// The secret an akim connects for one platform. Write-only: it is sealed at rest and never
/// shown again; only [`Credential::hint`] is.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "platform", rename_all = "snake_case")]
pub enum Credential {
    /// An OAuth client of the akimat's Google Cloud project and a refresh token granted by
    /// the channel's owner with the `youtube.force-ssl` scope (reading the chat, deleting
    /// messages and banning need it).
    Youtube { client_id: String, client_secret: String, refresh_token: String },
    /// The token of a bot that is an admin, allowed to delete messages and ban users, of the
    /// channel's discussion group.
    Telegram { bot_token: String },
    /// A community access token with the rights `manage`, `wall` and `video` (Bots Long Poll).
    Vk { access_token: String },
    /// A Page access token (`pages_read_engagement`, `pages_manage_engagement`).
    Facebook { access_token: String },
}

// Never print a secret, not even in a debug log.
impl std::fmt::Debug for Credential {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "Credential({}, {})", self.platform(), self.hint())
    }
}

fn token(name: &'static str, value: &str) -> Result<(), PlatformProblem> {
    if value.is_empty() || value.len() > 4096 || !value.chars().all(|c| c.is_ascii_graphic()) {
        return Err(PlatformProblem::Token(name));
    }
    Ok(())
}

impl Credential {
    pub fn platform(&self) -> SocialPlatform {
        match self {
            Credential::Youtube { .. } => SocialPlatform::Youtube,
            Credential::Telegram { .. } => SocialPlatform::Telegram,
            Credential::Vk { .. } => SocialPlatform::Vk,
            Credential::Facebook { .. } => SocialPlatform::Facebook,
        }
    }

    pub fn check(&self) -> Result<(), PlatformProblem> {
        match self {
            Credential::Youtube { client_id, client_secret, refresh_token } => {
                token("client_id", client_id)?;
                token("client_secret", client_secret)?;
                token("refresh_token", refresh_token)
            }
            Credential::Telegram { bot_token } => token("bot_token", bot_token),
            Credential::Vk { access_token } | Credential::Facebook { access_token } => {
                token("access_token", access_token)
            }
        }
    }

    /// The main secret's last four characters behind a mask, so the akim can tell which
    /// token is connected without anyone reading it back.
    pub fn hint(&self) -> String {
        let secret = match self {
            Credential::Youtube { refresh_token, .. } => refresh_token,
            Credential::Telegram { bot_token } => bot_token,
            Credential::Vk { access_token } | Credential::Facebook { access_token } => access_token,
        };
        crate::restream::masked_key(secret)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_vk_follow_names_exactly_one_object_of_a_community() {
        let follow = |owner_id, video_id, post_id| Follow::Vk { owner_id, video_id, post_id };
        assert_eq!(follow(-1, Some(5), None).check(), Ok(()));
        assert_eq!(follow(-1, None, Some(5)).check(), Ok(()));
        assert_eq!(follow(-1, Some(5), Some(6)).check(), Err(PlatformProblem::VkObject));
        assert_eq!(follow(-1, None, None).check(), Err(PlatformProblem::VkObject));
        assert_eq!(follow(1, Some(5), None).check(), Err(PlatformProblem::VkOwner));
        assert_eq!(follow(-1, Some(0), None).check(), Err(PlatformProblem::Positive("video_id")));
    }

    #[test]
    fn a_telegram_follow_is_a_group_and_a_post() {
        assert_eq!(Follow::Telegram { chat_id: -100123, post_id: 7 }.check(), Ok(()));
        assert_eq!(Follow::Telegram { chat_id: 5, post_id: 7 }.check(), Err(PlatformProblem::TelegramChat));
        assert_eq!(
            Follow::Telegram { chat_id: -5, post_id: 0 }.check(),
            Err(PlatformProblem::Positive("post_id"))
        );
    }

    #[test]
    fn ids_are_plain_and_tokens_visible() {
        let youtube =
            |id: &str| Follow::Youtube { live_chat_id: Some(id.to_owned()), video_id: None }.check();
        assert_eq!(youtube("Cg0KC2FiY2RlZmdoaWpr"), Ok(()));
        assert!(youtube("a b").is_err());
        assert!(youtube("").is_err());
        assert!(youtube("<script>").is_err());
        assert!(Credential::Telegram { bot_token: "123:ABC def".into() }.check().is_err());
        assert_eq!(Credential::Telegram { bot_token: "123:ABC".into() }.check(), Ok(()));
    }

    #[test]
    fn a_credential_never_prints_its_secret() {
        let credential = Credential::Vk { access_token: "vk1.a.secretsecret9876".into() };
        let printed = format!("{credential:?}");
        assert!(!printed.contains("secretsecret"), "{printed}");
        assert!(printed.contains("9876"));
    }

    #[test]
    fn the_public_source_drops_the_author_id() {
        let source = CommentSource {
            platform: SocialPlatform::Youtube,
            external_id: "LCC.1".into(),
            url: None,
            author_id: Some("UC123".into()),
        };
        assert_eq!(source.public().author_id, None);
        let json = serde_json::to_value(source.public()).expect("serializes");
        assert!(json.get("author_id").is_none());
    }
}
