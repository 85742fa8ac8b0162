//! The actor's RSA key pair. Generated on first run and kept in the data dir,
//! because every follower has cached the public key: a new key per start
//! would make all our signatures fail until peers refetch the actor.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use activitypub_federation::http_signatures::generate_actor_keypair;
use chrono::{DateTime, Utc};
use rsa::RsaPrivateKey;
use rsa::pkcs8::{DecodePrivateKey, EncodePublicKey, LineEnding};

use super::FediverseError;

/// File name of the PKCS#8 private key inside the data dir.
pub const KEY_FILE: &str = "actor-key.pem";

/// The key pair. `Debug` never prints the private key.
#[derive(Clone)]
pub struct ActorKeys {
    pub public_key_pem: String,
    private_key_pem: String,
    /// When the key file was created: the actor's `published`.
    pub created: DateTime<Utc>,
}

impl std::fmt::Debug for ActorKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActorKeys")
            .field("public_key_pem", &self.public_key_pem)
            .field("private_key_pem", &"<redacted>")
            .finish()
    }
}

impl ActorKeys {
    pub(crate) fn private_key_pem(&self) -> &str {
        &self.private_key_pem
    }
}

fn err(what: &str, e: impl std::fmt::Display) -> FediverseError {
    // Only the path and the error kind: never key material.
    FediverseError::Keys(format!("{what}: {e}"))
}

/// Loads the key from `data_dir`, or generates and stores it (mode 0600)
/// when absent. Blocking (RSA generation); call from `spawn_blocking`.
pub fn load_or_create(data_dir: &Path) -> Result<ActorKeys, FediverseError> {
    fs::create_dir_all(data_dir).map_err(|e| err("create data dir", e))?;
    let path = data_dir.join(KEY_FILE);
    if !path.exists() {
        let pair = generate_actor_keypair().map_err(|e| err("generate key", e))?;
        // Write to a temp file created 0600 from the start (no window where
        // the key is world-readable), then rename: a crash never leaves a
        // half-written key behind.
        let tmp = data_dir.join(format!("{KEY_FILE}.tmp"));
        let _ = fs::remove_file(&tmp);
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(|e| err("create key file", e))?;
        f.write_all(pair.private_key.as_bytes())
            .and_then(|()| f.sync_all())
            .map_err(|e| err("write key file", e))?;
        fs::rename(&tmp, &path).map_err(|e| err("rename key file", e))?;
        tracing::info!(path = %path.display(), "generated a new actor key pair");
    }
    let meta = fs::metadata(&path).map_err(|e| err("stat key file", e))?;
    if meta.permissions().mode() & 0o077 != 0 {
        tracing::warn!(path = %path.display(), "actor key file was readable by others; setting 0600");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600))
            .map_err(|e| err("chmod key file", e))?;
    }
    let private_key_pem = fs::read_to_string(&path).map_err(|e| err("read key file", e))?;
    let private = RsaPrivateKey::from_pkcs8_pem(&private_key_pem)
        .map_err(|_| FediverseError::Keys(format!("{} is not a PKCS#8 RSA key", path.display())))?;
    let public_key_pem = private
        .to_public_key()
        .to_public_key_pem(LineEnding::LF)
        .map_err(|e| err("encode public key", e))?;
    let created = meta
        .modified()
        .map(DateTime::<Utc>::from)
        .unwrap_or_else(|_| Utc::now());
    Ok(ActorKeys {
        public_key_pem,
        private_key_pem,
        created,
    })
}
