//! The seam between the door ([`Ppin`](crate::Ppin)) and what performs the
//! operations: the built-in engine (HSM client and `.secrets.cfg` store) or
//! an engine driving the vendor's `ppin` binary.

use std::fmt;

use secrets_cfg::Password;

/// The two passwords `ppin -a`/`-u` send.
pub struct SetupCredentials {
    /// The one-time setup password from the HSM administrator.
    pub setup_password: Password,
    /// The user's PKCS#11 password, sent with it.
    pub pkcs11_password: Password,
}

impl SetupCredentials {
    /// Both passwords.
    pub fn new(setup_password: Password, pkcs11_password: Password) -> Self {
        SetupCredentials {
            setup_password,
            pkcs11_password,
        }
    }
}

impl fmt::Debug for SetupCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Password's own Debug redacts; spelled out so no field can be added unredacted by accident.
        f.debug_struct("SetupCredentials")
            .field("setup_password", &self.setup_password)
            .field("pkcs11_password", &self.pkcs11_password)
            .finish()
    }
}
