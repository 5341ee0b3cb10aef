//! Argon2id hashing with bounded concurrency and reused memory.
//!
//! Each hash needs 19 MiB of working memory. Allocated per call, glibc raises its mmap
//! threshold after the first free and then serves later blocks from the arena of whichever
//! blocking thread ran the hash, keeping up to 19 MiB per thread for good (230 MiB after 13
//! sign-ups). Here at most one hash runs per core, every later caller waits its turn
//! asynchronously, and each running hash borrows one of at most that many buffers, which live
//! as long as the process: the memory hashing uses is bounded by the number of cores.

use std::sync::{Mutex, OnceLock, PoisonError};

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use tokio::sync::Semaphore;

use super::{Error, Result};
use crate::error::Cause;

/// Salt length (bytes): the crate's recommendation.
const SALT_LEN: usize = 16;

/// The process's hashing slots: one permit and at most one buffer per core.
struct Slots {
    permits: Semaphore,
    buffers: Mutex<Vec<Vec<Block>>>,
}

fn slots() -> &'static Slots {
    static SLOTS: OnceLock<Slots> = OnceLock::new();
    SLOTS.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        Slots {
            permits: Semaphore::new(cores),
            buffers: Mutex::new(Vec::with_capacity(cores)),
        }
    })
}

/// Runs `work` on a blocking thread once a slot is free, lending it a buffer of `blocks`
/// blocks. A buffer of another size (a hash made with other parameters) is used once and
/// dropped, so only buffers of the parameters in use are kept.
async fn with_memory<T: Send + 'static>(
    blocks: usize,
    work: impl FnOnce(&mut [Block]) -> T + Send + 'static,
) -> Result<T> {
    let slots = slots();
    let permit = slots
        .permits
        .acquire()
        .await
        .map_err(|e| Error::Internal(Cause::new(e)))?;
    let answer = tokio::task::spawn_blocking(move || {
        // A poisoned lock only means another hash panicked; the buffers are still buffers.
        let pooled = blocks == Params::DEFAULT.block_count();
        let lent = if pooled {
            slots
                .buffers
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .pop()
        } else {
            None
        };
        let mut buffer = lent.unwrap_or_else(|| vec![Block::new(); blocks]);
        let answer = work(&mut buffer);
        if pooled {
            slots
                .buffers
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(buffer);
        }
        answer
    })
    .await
    .map_err(|e| Error::Internal(Cause::new(e)));
    drop(permit);
    answer
}

fn failed(e: impl std::fmt::Display) -> Error {
    Error::Internal(Cause::msg(format!("hashing failed: {e}")))
}

/// Hashes a password with argon2id and the crate's recommended parameters (19 MiB, 2 passes,
/// 1 lane) into a PHC string.
pub(crate) async fn hash(password: String) -> Result<String> {
    let mut salt = [0u8; SALT_LEN];
    getrandom::fill(&mut salt).map_err(|e| failed(format!("no randomness: {e}")))?;
    let params = Params::DEFAULT;
    let blocks = params.block_count();
    with_memory(blocks, move |memory| {
        let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
            .hash_password_into_with_memory(password.as_bytes(), &salt, &mut out, memory)
            .map_err(failed)?;
        let phc = PasswordHash {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(&params).map_err(failed)?,
            salt: Some(Salt::new(&salt).map_err(failed)?),
            hash: Some(Output::new(&out).map_err(failed)?),
        };
        Ok(phc.to_string())
    })
    .await?
}

/// Whether `password` matches the PHC string `hash` (false for text that is not one).
/// The comparison takes the same time wherever the outputs differ.
pub(crate) async fn verify(password: String, hash: String) -> Result<bool> {
    let Ok(parsed) = PasswordHash::new(&hash) else {
        return Ok(false);
    };
    let algorithm = Algorithm::try_from(parsed.algorithm.as_str());
    let version = Version::try_from(parsed.version.unwrap_or(Version::V0x13.into()));
    let params = Params::try_from(&parsed);
    let (Ok(algorithm), Ok(version), Ok(params), Some(salt), Some(expected)) =
        (algorithm, version, params, parsed.salt, parsed.hash)
    else {
        return Ok(false);
    };
    let blocks = params.block_count();
    with_memory(blocks, move |memory| {
        let mut out = vec![0u8; expected.len()];
        let hashed = Argon2::new(algorithm, version, params).hash_password_into_with_memory(
            password.as_bytes(),
            salt.as_ref(),
            &mut out,
            memory,
        );
        hashed.is_ok() && Output::new(&out).is_ok_and(|o| o == expected)
    })
    .await
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use argon2::password_hash::{PasswordHasher, PasswordVerifier};

    use super::*;

    #[tokio::test]
    async fn hashes_verify_both_ways_with_the_crates_own_code() {
        // Ours, checked by the crate's verifier: same algorithm, parameters and encoding.
        let ours = hash("correct horse".into()).await.unwrap();
        assert!(
            ours.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{ours}"
        );
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(
            Argon2::default()
                .verify_password(b"correct horse", &parsed)
                .is_ok()
        );
        // The crate's, checked by ours, with a reused (dirty) buffer.
        let theirs = Argon2::default()
            .hash_password(b"battery staple")
            .unwrap()
            .to_string();
        for _ in 0..2 {
            assert!(
                verify("battery staple".into(), theirs.clone())
                    .await
                    .unwrap()
            );
            assert!(
                !verify("battery stapler".into(), theirs.clone())
                    .await
                    .unwrap()
            );
            assert!(verify("correct horse".into(), ours.clone()).await.unwrap());
        }
        assert!(!verify("x".into(), "not a hash".into()).await.unwrap());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_hashes_share_at_most_one_buffer_per_core() {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let tasks: Vec<_> = (0..cores * 3)
            .map(|i| tokio::spawn(hash(format!("password {i}"))))
            .collect();
        for t in tasks {
            assert!(t.await.unwrap().is_ok());
        }
        let kept = slots().buffers.lock().unwrap().len();
        assert!(
            (1..=cores).contains(&kept),
            "{kept} buffers for {cores} cores"
        );
    }
}
