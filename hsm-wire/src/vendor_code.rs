//! The vendor's error codes, as its PKCS#11 provider's "Testing and
//! Troubleshooting" page lists them: one table of every documented code with
//! a title of ours and the vendor's own description, and the classes the
//! page names for the rest (`0x0nnnnnnn` PKCS#11, `0x8nnnnnnn` Securosys,
//! `0xCnnnnnnn` HSM system errors).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A Securosys error code such as `0x80005017`; a hex string in JSON.
///
/// Every code the vendor documents is a constant here and an entry of
/// [`VendorCode::DOCUMENTED`]; [`VendorCode::title`] and
/// [`VendorCode::description`] also answer for codes the vendor only
/// documents by class, so an unknown code is still reported by its number.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct VendorCode(pub u32);

/// One row of the vendor's error code table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct DocumentedCode {
    /// The code.
    pub code: VendorCode,
    /// A title-case summary of ours, for diagnostics (`Setup Password Expired`).
    pub title: &'static str,
    /// The vendor's description, word for word (`Setup password expired`).
    pub description: &'static str,
}

/// The class of a code, by its first hex digit as the vendor's table groups them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CodeClass {
    /// `0x0nnnnnnn`: a standard PKCS#11 return value (`CKR_...`).
    Pkcs11Standard,
    /// `0x8nnnnnnn`: specific to Securosys (the provider, `ppin`, the HSM's API).
    Securosys,
    /// `0xCnnnnnnn`: an error of the HSM's own system.
    HsmSystem,
    /// Any other first digit: no class the vendor documents.
    Undocumented,
}

/// Declares each documented code once: its constant and its row of
/// [`VendorCode::DOCUMENTED`], so the two cannot disagree.
macro_rules! documented_codes {
    ($($name:ident = $code:literal, $title:literal, $description:literal;)+) => {
        impl VendorCode {
            $(
                #[doc = concat!("`", stringify!($code), "`: ", $description, ".")]
                pub const $name: VendorCode = VendorCode($code);
            )+

            /// The vendor's error code table, in the vendor's order.
            pub const DOCUMENTED: &'static [DocumentedCode] = &[$(DocumentedCode {
                code: VendorCode($code),
                title: $title,
                description: $description,
            },)+];
        }
    };
}

documented_codes! {
    UNEXPECTED_DATA_TYPE = 0x8000_0001, "Unexpected Data Type", "Unexpected data type";
    BUFFER_TOO_SMALL = 0x8000_0002, "Buffer Too Small", "Buffer too small";
    DUPLICATE_ENTRY = 0x8000_0003, "Duplicate Entry", "Duplicate entry";
    NO_MORE_KEYS = 0x8000_0004, "No More Keys", "No more keys";
    PUBLIC_KEY_NOT_FOUND = 0x8000_0005, "Public Key Not Found", "Public key not found";
    PRIVATE_KEY_NOT_FOUND = 0x8000_0006, "Private Key Not Found", "Private key not found";
    INVALID_BLOCK_CIPHER = 0x8000_0008, "Invalid Block Cipher", "Invalid block cipher";
    INVALID_MECHANISM = 0x8000_0009, "Invalid Mechanism", "Invalid mechanism";
    OBJECT_NOT_FOUND = 0x8000_000A, "Object Not Found", "Object not found";
    WRONG_PKCS11_PIN = 0x8000_000B, "PKCS#11 Password Refused", "Login failed, wrong PKCS#11 PIN";
    NOT_LOGGED_IN = 0x8000_000C, "User Not Logged In", "User not logged in";
    USER_NOT_FOUND = 0x8000_000D, "User Unknown To The HSM", "User not found";
    WRONG_KEY_PASSWORD = 0x8000_000E, "Wrong Key Password",
        "Wrong password for the key (e.g. keys created with password by JCE or CNG provider)";
    KEY_NOT_FOUND = 0x8000_0012, "Key Not Found", "Key not found";
    MAX_CONNECTIONS_EXCEEDED = 0x8000_0018, "Too Many HSM Connections", "Max Connections exceeded";
    KEY_IMPORT_NOT_ALLOWED = 0x8000_002A, "Key Import Not Allowed", "Key import not allowed";
    PASSWORD_EXPIRED = 0x8000_0037, "Password Expired", "Password expired";
    CONNECT_TIMEOUT = 0x8000_003B, "HSM Connect Timeout", "Connect Timeout";
    EC_CURVE_UNKNOWN = 0x8000_0058, "Unknown EC Curve", "EC Curve Unknown";
    SESSION_OBJECTS_DISABLED = 0x8000_005F, "Session Objects Disabled",
        "Session objects disabled by HSM configuration";
    HSM_ACCESS_DISABLED = 0x8000_0069, "Partition Access Disabled",
        "Access to partition disabled by HSM configuration";
    DL_GROUP_UNKNOWN = 0x8000_0084, "Unknown DL Group", "DL Group unknown";
    PQC_MODE_UNKNOWN = 0x8000_0085, "Unknown PQC Mode", "PQC mode unknown";
    NOTHING_CONFIGURED = 0x8000_5001, "No HSM Or User Configured", "No HSM/User configured";
    ALREADY_CONFIGURED = 0x8000_5002, "Configuration Already Exists",
        "HSM/User configuration already exists";
    CONFIG_NOT_FOUND = 0x8000_5003, "primus.cfg Not Found", "Primus configuration file not found";
    SECRETS_NOT_FOUND = 0x8000_5004, ".secrets.cfg Not Found", "Primus secrets file not found";
    CONFIG_INVALID = 0x8000_5005, "Invalid primus.cfg", "Invalid Primus configuration file";
    SECRETS_INVALID = 0x8000_5006, "Invalid .secrets.cfg", "Invalid Primus secrets file";
    NO_WRITE_ACCESS = 0x8000_5007, "No Write Access To .secrets.cfg",
        "No write access to Primus secrets file";
    ADD_FAILED = 0x8000_5008, "Permanent Secret Not Added",
        "Failed to add permanent secret to secrets file";
    SECRETS_ELEMENT_INVALID = 0x8000_5009, "Invalid .secrets.cfg Element",
        "Invalid secrets file configuration element";
    UPDATE_FAILED = 0x8000_5010, ".secrets.cfg Not Updated", "Failed to update Primus secrets file";
    REMOVE_FAILED = 0x8000_5011, "Permanent Secret Not Removed",
        "Failed to remove permanent secret from Primus secrets file";
    USER_NOT_IN_CONFIG = 0x8000_5012, "User Not In primus.cfg",
        "User not found in Primus configuration file";
    UNSUPPORTED_SECRET_TYPES = 0x8000_5013, "Unsupported Secret Types", "Unsupported secret types";
    NULL_LIST_POINTER = 0x8000_5014, "Vendor Tool Fault", "NULL list pointer";
    NETWORK_FAILURE = 0x8000_5015, "HSM Unreachable",
        "Connection to HSM failed (network level, IP not reachable)";
    BAD_SETUP_PASSWORD = 0x8000_5017, "Setup Password Refused",
        "Login to HSM failed with provided credentials (Setup Password)";
    SETUP_PASSWORD_EXPIRED = 0x8000_5018, "Setup Password Expired", "Setup password expired";
    ACCESS_DISABLED = 0x8000_5019, "Partition Access Disabled",
        "Access to partition disabled by HSM configuration";
}

/// The vendor's descriptions of its code classes, word for word.
const PKCS11_STANDARD: &str =
    "Default PKCS#11 failure (see OASIS PKCS#11 standard or  pkcs11.h file)";
const SECUROSYS_SPECIFIC: &str = "Securosys specific errors";
const HSM_SYSTEM: &str = "HSM system errors";
const UNDOCUMENTED: &str = "not a code class the vendor documents";

impl VendorCode {
    /// The vendor's table row for this code, if the vendor documents it.
    pub fn documented(self) -> Option<&'static DocumentedCode> {
        VendorCode::DOCUMENTED.iter().find(|row| row.code == self)
    }

    /// The class of this code, by its first hex digit.
    pub fn class(self) -> CodeClass {
        match self.0 >> 28 {
            0x0 => CodeClass::Pkcs11Standard,
            0x8 => CodeClass::Securosys,
            0xC => CodeClass::HsmSystem,
            _ => CodeClass::Undocumented,
        }
    }

    /// A title-case summary: the documented code's, else its class's.
    pub fn title(self) -> &'static str {
        match (self.documented(), self.class()) {
            (Some(row), _) => row.title,
            (None, CodeClass::Pkcs11Standard) => "PKCS#11 Error",
            (None, CodeClass::Securosys) => "Undocumented Securosys Error",
            (None, CodeClass::HsmSystem) => "HSM System Error",
            (None, CodeClass::Undocumented) => "Unknown Error Code",
        }
    }

    /// The vendor's description: the documented code's, else its class's.
    pub fn description(self) -> &'static str {
        match (self.documented(), self.class()) {
            (Some(row), _) => row.description,
            (None, CodeClass::Pkcs11Standard) => PKCS11_STANDARD,
            (None, CodeClass::Securosys) => SECUROSYS_SPECIFIC,
            (None, CodeClass::HsmSystem) => HSM_SYSTEM,
            (None, CodeClass::Undocumented) => UNDOCUMENTED,
        }
    }

    /// The first Securosys (`0x8nnnnnnn`) or HSM system (`0xCnnnnnnn`) code
    /// written as `0x` and exactly eight hex digits in `text`, in either case.
    /// Shorter hex numbers (`rv: 0x5`) are not codes a tool reports as such.
    pub fn find_in(text: &str) -> Option<VendorCode> {
        text.match_indices("0x")
            .chain(text.match_indices("0X"))
            .filter_map(|(at, _)| {
                let digits = text.get(at + 2..at + 10)?;
                let longer = text[at + 10..]
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_hexdigit());
                if longer || !digits.chars().all(|c| c.is_ascii_hexdigit()) {
                    return None;
                }
                let code = VendorCode(u32::from_str_radix(digits, 16).ok()?);
                matches!(code.class(), CodeClass::Securosys | CodeClass::HsmSystem)
                    .then_some((at, code))
            })
            .min_by_key(|(at, _)| *at)
            .map(|(_, code)| code)
    }
}

impl fmt::Display for VendorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{:08X}", self.0)
    }
}

impl fmt::Debug for VendorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl Serialize for VendorCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for VendorCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        let digits = text
            .strip_prefix("0x")
            .or_else(|| text.strip_prefix("0X"))
            .ok_or_else(|| serde::de::Error::custom("vendor code must start with 0x"))?;
        u32::from_str_radix(digits, 16)
            .map(VendorCode)
            .map_err(|_| serde::de::Error::custom("vendor code must be 0x and up to 8 hex digits"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The vendor's table (troubleshooting page of PKCS#11 provider 2.2.4),
    /// code and description as printed there.
    const VENDOR_TABLE: &[(u32, &str)] = &[
        (0x8000_0001, "Unexpected data type"),
        (0x8000_0002, "Buffer too small"),
        (0x8000_0003, "Duplicate entry"),
        (0x8000_0004, "No more keys"),
        (0x8000_0005, "Public key not found"),
        (0x8000_0006, "Private key not found"),
        (0x8000_0008, "Invalid block cipher"),
        (0x8000_0009, "Invalid mechanism"),
        (0x8000_000A, "Object not found"),
        (0x8000_000B, "Login failed, wrong PKCS#11 PIN"),
        (0x8000_000C, "User not logged in"),
        (0x8000_000D, "User not found"),
        (
            0x8000_000E,
            "Wrong password for the key (e.g. keys created with password by JCE or CNG provider)",
        ),
        (0x8000_0012, "Key not found"),
        (0x8000_0018, "Max Connections exceeded"),
        (0x8000_002A, "Key import not allowed"),
        (0x8000_0037, "Password expired"),
        (0x8000_003B, "Connect Timeout"),
        (0x8000_0058, "EC Curve Unknown"),
        (0x8000_005F, "Session objects disabled by HSM configuration"),
        (
            0x8000_0069,
            "Access to partition disabled by HSM configuration",
        ),
        (0x8000_0084, "DL Group unknown"),
        (0x8000_0085, "PQC mode unknown"),
        (0x8000_5001, "No HSM/User configured"),
        (0x8000_5002, "HSM/User configuration already exists"),
        (0x8000_5003, "Primus configuration file not found"),
        (0x8000_5004, "Primus secrets file not found"),
        (0x8000_5005, "Invalid Primus configuration file"),
        (0x8000_5006, "Invalid Primus secrets file"),
        (0x8000_5007, "No write access to Primus secrets file"),
        (
            0x8000_5008,
            "Failed to add permanent secret to secrets file",
        ),
        (0x8000_5009, "Invalid secrets file configuration element"),
        (0x8000_5010, "Failed to update Primus secrets file"),
        (
            0x8000_5011,
            "Failed to remove permanent secret from Primus secrets file",
        ),
        (0x8000_5012, "User not found in Primus configuration file"),
        (0x8000_5013, "Unsupported secret types"),
        (0x8000_5014, "NULL list pointer"),
        (
            0x8000_5015,
            "Connection to HSM failed (network level, IP not reachable)",
        ),
        (
            0x8000_5017,
            "Login to HSM failed with provided credentials (Setup Password)",
        ),
        (0x8000_5018, "Setup password expired"),
        (
            0x8000_5019,
            "Access to partition disabled by HSM configuration",
        ),
    ];

    #[test]
    fn every_code_of_the_vendor_table_is_documented_word_for_word() {
        assert_eq!(VendorCode::DOCUMENTED.len(), VENDOR_TABLE.len());
        for (row, (code, description)) in VendorCode::DOCUMENTED.iter().zip(VENDOR_TABLE) {
            assert_eq!(row.code, VendorCode(*code));
            assert_eq!(row.description, *description, "{}", row.code);
            assert_eq!(VendorCode(*code).description(), *description);
            assert_eq!(VendorCode(*code).class(), CodeClass::Securosys);
            let title = VendorCode(*code).title();
            assert!(
                title
                    .split(' ')
                    .all(|word| !word.starts_with(|c: char| c.is_ascii_lowercase())
                        || word == "primus.cfg"),
                "{code:#x}: {title}"
            );
        }
        assert_eq!(VendorCode::BAD_SETUP_PASSWORD, VendorCode(0x8000_5017));
        assert_eq!(VendorCode::CONNECT_TIMEOUT.title(), "HSM Connect Timeout");
    }

    #[test]
    fn undocumented_codes_keep_their_number_and_get_their_class() {
        let system = VendorCode(0xC000_0123);
        assert_eq!(system.class(), CodeClass::HsmSystem);
        assert_eq!(system.title(), "HSM System Error");
        assert_eq!(system.description(), "HSM system errors");
        assert_eq!(system.to_string(), "0xC0000123");
        let securosys = VendorCode(0x8000_5016);
        assert_eq!(securosys.documented(), None);
        assert_eq!(securosys.title(), "Undocumented Securosys Error");
        assert_eq!(securosys.description(), "Securosys specific errors");
        let pkcs11 = VendorCode(0xA0);
        assert_eq!(pkcs11.class(), CodeClass::Pkcs11Standard);
        assert_eq!(pkcs11.title(), "PKCS#11 Error");
        assert!(pkcs11.description().contains("OASIS PKCS#11"));
        assert_eq!(VendorCode(0x4000_0000).class(), CodeClass::Undocumented);
    }

    #[test]
    fn codes_are_found_in_tool_output() {
        assert_eq!(
            VendorCode::find_in("ppin: error: bad setup password (0x80005017)"),
            Some(VendorCode::BAD_SETUP_PASSWORD)
        );
        assert_eq!(
            VendorCode::find_in("x 0X8000000b y"),
            Some(VendorCode::WRONG_PKCS11_PIN)
        );
        assert_eq!(
            VendorCode::find_in("HSM error 0xc0001234, then 0x80005015"),
            Some(VendorCode(0xC000_1234))
        );
        // Not codes: PKCS#11 return values, short or long hex, other classes.
        for text in [
            "rv: 0x5",
            "0x800050",
            "0x800050171",
            "0x12345678",
            "0x8000zzzz",
        ] {
            assert_eq!(VendorCode::find_in(text), None, "{text}");
        }
    }
}
