//! How long an SMS is. A text entirely in the GSM 03.38 alphabet goes as GSM-7: 160 characters
//! in one message, 153 in each part of a longer one, and the extension characters (`{`, `€`…)
//! take two. Anything else (ə, ğ, ı, ş, Cyrillic) makes the whole text UCS-2: 70 characters in
//! one message, 67 in each part; a character outside the Basic Multilingual Plane takes two.

/// The GSM 03.38 default alphabet, one septet each.
const GSM7_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";

/// The extension table: an escape septet and the character's own.
const GSM7_EXTENSION: &str = "\u{000C}^{}\\[~]|€";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmsEncoding {
    Gsm7,
    Ucs2,
}

impl SmsEncoding {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Gsm7 => "gsm7",
            Self::Ucs2 => "ucs2",
        }
    }

    /// Units (septets or UTF-16 code units) in a single message, and in each part of a
    /// concatenated one (the rest carries the part header).
    fn capacity(self) -> (usize, usize) {
        match self {
            Self::Gsm7 => (160, 153),
            Self::Ucs2 => (70, 67),
        }
    }
}

/// The encoding, length and number of messages of a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SmsLength {
    pub encoding: SmsEncoding,
    /// Septets for GSM-7, UTF-16 code units for UCS-2.
    pub units: usize,
    pub segments: usize,
}

pub fn measure(text: &str) -> SmsLength {
    let gsm7_units = text.chars().try_fold(0_usize, |units, c| {
        if GSM7_BASIC.contains(c) {
            Some(units + 1)
        } else if GSM7_EXTENSION.contains(c) {
            Some(units + 2)
        } else {
            None
        }
    });
    let (encoding, units) = match gsm7_units {
        Some(units) => (SmsEncoding::Gsm7, units),
        None => (SmsEncoding::Ucs2, text.encode_utf16().count()),
    };
    let (single, part) = encoding.capacity();
    let segments = match units {
        0 => 1,
        n if n <= single => 1,
        n => n.div_ceil(part),
    };
    SmsLength {
        encoding,
        units,
        segments,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn latin_text_is_gsm7_and_azerbaijani_letters_make_it_ucs2() {
        let plain = measure("Application MD-2026-000042 registered.");
        assert_eq!(plain.encoding, SmsEncoding::Gsm7);
        assert_eq!(plain.segments, 1);
        for letter in ["ə", "ğ", "ı", "ş", "İ", "ç"] {
            let text = format!("Müraci{letter}t");
            assert_eq!(measure(&text).encoding, SmsEncoding::Ucs2, "{letter}");
        }
        // ö and ü are in the GSM alphabet.
        assert_eq!(measure("Görüş").encoding, SmsEncoding::Ucs2, "ş is not");
        assert_eq!(measure("Görü").encoding, SmsEncoding::Gsm7);
        assert_eq!(measure("Заявка").encoding, SmsEncoding::Ucs2);
    }

    #[test]
    fn segment_boundaries() {
        let gsm = |n: usize| measure(&"a".repeat(n)).segments;
        assert_eq!((gsm(160), gsm(161), gsm(306), gsm(307)), (1, 2, 2, 3));
        let ucs = |n: usize| measure(&"ə".repeat(n)).segments;
        assert_eq!((ucs(70), ucs(71), ucs(134), ucs(135)), (1, 2, 2, 3));
        assert_eq!(measure("").segments, 1);
    }

    #[test]
    fn extension_characters_take_two_septets() {
        let length = measure(&"€".repeat(80));
        assert_eq!(
            (length.encoding, length.units, length.segments),
            (SmsEncoding::Gsm7, 160, 1)
        );
        assert_eq!(measure(&"€".repeat(81)).segments, 2);
    }

    #[test]
    fn characters_beyond_the_basic_plane_take_two_units() {
        assert_eq!(measure("😀").units, 2);
    }

    proptest! {
        #[test]
        fn segments_hold_the_units(text in "\\PC{0,400}") {
            let length = measure(&text);
            let (single, part) = length.encoding.capacity();
            if length.segments == 1 {
                prop_assert!(length.units <= single);
            } else {
                prop_assert!(length.units > single);
                prop_assert!(length.units <= length.segments * part);
                prop_assert!(length.units > (length.segments - 1) * part);
            }
        }

        #[test]
        fn adding_a_character_never_shortens_the_text(text in "\\PC{0,200}", c in any::<char>()) {
            let before = measure(&text);
            let after = measure(&format!("{text}{c}"));
            prop_assert!(after.segments >= before.segments);
        }
    }
}
