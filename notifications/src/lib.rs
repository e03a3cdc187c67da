//! Telling applicants and integrators: the templates, the channels (SMTP e-mail, the SMS
//! gateway, webhooks, and log channels for development) and the dispatcher that delivers the
//! outbox. Requests only write the outbox; everything here runs beside them.

pub mod channels;
pub mod dispatcher;
pub mod document_links;
pub mod settings;
pub mod templates;
pub mod webhook;

pub use dispatcher::Dispatcher;

/// Removes what could identify a person from an error text before it is logged or stored: an
/// e-mail address (a word with `@`) and a phone number (a word with seven digits or more).
/// SMTP servers and gateways like to quote them back.
pub fn redact(text: &str) -> String {
    text.split(' ')
        .map(|word| {
            let digits = word.chars().filter(char::is_ascii_digit).count();
            if word.contains('@') {
                "<address>"
            } else if digits >= 7 {
                "<number>"
            } else {
                word
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn addresses_and_numbers_are_removed() {
        assert_eq!(
            redact("550 5.1.1 <ali@example.az>: Recipient address rejected"),
            "550 5.1.1 <address> Recipient address rejected"
        );
        assert_eq!(
            redact("HTTP 400 {\"to\":\"+994501234567\"} invalid"),
            "HTTP 400 <number> invalid"
        );
        assert_eq!(redact("timed out after 10 s"), "timed out after 10 s");
    }
}
