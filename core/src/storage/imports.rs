//! Imports: a whole file's people and entries written in one transaction.

use async_trait::async_trait;
use time::OffsetDateTime;

use super::{EntryWrite, StorageResult};
use crate::domain::{Activity, Comment, GroupId, Membership, UserId, UserRecord};
use crate::recurring::Series;

/// A placeholder an import creates for a name no member has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPlaceholder {
    /// Their user row (an address nobody can receive mail at, a hash that verifies nothing).
    pub user: UserRecord,
    /// Their membership.
    pub membership: Membership,
    /// The `member.added` activity entry.
    pub activity: Activity,
}

/// Everything one import writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportWrite {
    /// The group.
    pub group_id: GroupId,
    /// The file's SHA-256 in lowercase hex: the same file is imported into a group once.
    pub sha256: String,
    /// The format's name (`splitwise`, ...).
    pub format: String,
    /// Who imported it.
    pub imported_by: UserId,
    /// When.
    pub imported_at: OffsetDateTime,
    /// Placeholders to create first.
    pub placeholders: Vec<NewPlaceholder>,
    /// The entries, each with its activity entry, in file order. No idempotency keys: the
    /// file's digest is the import's.
    pub entries: Vec<EntryWrite>,
    /// Recurring series, each with its activity entry, written before the entries (an
    /// occurrence among the entries names its series).
    pub series: Vec<(Series, Activity)>,
    /// Comments, each with its activity entry, written after the entries they are about.
    pub comments: Vec<(Comment, Activity)>,
    /// The `import.created` activity entry.
    pub activity: Activity,
}

/// Imports.
#[async_trait]
pub trait ImportStore: Send + Sync + 'static {
    /// Writes the whole import in one transaction, or nothing:
    /// `Conflict("already_imported")` if this group already imported a file with this
    /// digest; `NotFound` for an unknown group; `NotMember` if a participant is not a member
    /// (nor one of the placeholders) at commit time; `Overflow` if a running total would
    /// leave its bound; `Conflict("id_taken")` if an entry id is taken.
    async fn import(&self, write: &ImportWrite) -> StorageResult<()>;
}
