//! Renders documents as PDF with printpdf, in DejaVu Sans (embedded, subset), which has every
//! Azerbaijani letter.

use domain::documents::{DocumentRenderer, DocumentText};
use printpdf::{
    Mm, Op, ParsedFont, PdfDocument, PdfFontHandle, PdfPage, PdfSaveOptions, Point, Pt, TextItem,
};

const FONT: &[u8] = include_bytes!("../assets/fonts/DejaVuSans.ttf");
/// Characters per line of body text on an A4 page with 20 mm margins at 11 pt.
const LINE_CHARACTERS: usize = 85;

#[derive(Clone)]
pub struct PdfRenderer {
    font: ParsedFont,
}

impl std::fmt::Debug for PdfRenderer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PdfRenderer")
    }
}

impl PdfRenderer {
    pub fn new() -> Result<Self, String> {
        let font = ParsedFont::from_bytes(FONT, 0, &mut Vec::new())
            .ok_or("the embedded font does not parse")?;
        Ok(Self { font })
    }
}

/// Breaks a text into lines of at most `width` characters, at spaces where it can, and inside a
/// word longer than a line.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    for paragraph in text.split('\n') {
        let mut line = String::new();
        for word in paragraph.split_whitespace() {
            let chars: Vec<char> = word.chars().collect();
            for piece in chars.chunks(width.max(1)) {
                let piece: String = piece.iter().collect();
                let needed =
                    line.chars().count() + usize::from(!line.is_empty()) + piece.chars().count();
                if needed > width && !line.is_empty() {
                    lines.push(std::mem::take(&mut line));
                }
                if !line.is_empty() {
                    line.push(' ');
                }
                line.push_str(&piece);
            }
        }
        lines.push(line);
    }
    lines
}

/// Body lines on a page, below the title on the first.
const LINES_PER_PAGE: usize = 44;

impl DocumentRenderer for PdfRenderer {
    fn render(&self, text: &DocumentText) -> Vec<u8> {
        let mut document = PdfDocument::new(&text.title);
        let font = PdfFontHandle::External(document.add_font(&self.font));
        let body: Vec<String> = text
            .lines
            .iter()
            .flat_map(|l| wrap(l, LINE_CHARACTERS))
            .collect();
        let pages: Vec<PdfPage> = body
            .chunks(LINES_PER_PAGE)
            .enumerate()
            .map(|(index, lines)| {
                let mut ops = vec![
                    Op::StartTextSection,
                    Op::SetTextCursor {
                        pos: Point {
                            x: Mm(20.0).into(),
                            y: Mm(272.0).into(),
                        },
                    },
                ];
                if index == 0 {
                    ops.push(Op::SetFont {
                        font: font.clone(),
                        size: Pt(13.0),
                    });
                    ops.push(Op::SetLineHeight { lh: Pt(18.0) });
                    for line in text.title.split(" / ") {
                        ops.push(Op::ShowText {
                            items: vec![TextItem::Text(line.to_owned())],
                        });
                        ops.push(Op::AddLineBreak);
                    }
                    ops.push(Op::AddLineBreak);
                }
                ops.push(Op::SetFont {
                    font: font.clone(),
                    size: Pt(10.5),
                });
                ops.push(Op::SetLineHeight { lh: Pt(15.0) });
                for line in lines {
                    ops.push(Op::ShowText {
                        items: vec![TextItem::Text(line.clone())],
                    });
                    ops.push(Op::AddLineBreak);
                }
                ops.push(Op::EndTextSection);
                PdfPage::new(Mm(210.0), Mm(297.0), ops)
            })
            .collect();
        document
            .with_pages(pages)
            .save(&PdfSaveOptions::default(), &mut Vec::new())
    }

    fn content_type(&self) -> &'static str {
        "application/pdf"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_at_spaces() {
        assert_eq!(wrap("bir iki üç dörd", 7), ["bir iki", "üç dörd"]);
        assert_eq!(wrap("", 10), [""]);
        assert_eq!(wrap("uzunsözbölünür", 4), ["uzun", "sözb", "ölün", "ür"]);
    }

    #[test]
    fn renders_a_pdf() {
        let renderer = PdfRenderer::new().unwrap_or_else(|e| unreachable!("{e}"));
        let bytes = renderer.render(&DocumentText {
            kind: domain::documents::DocumentKind::InspectionResult,
            file_name: "x.pdf".into(),
            title: "Nəticə / Result".into(),
            lines: vec!["Müraciət nömrəsi / Application number: MD-2026-000001".into()],
        });
        assert!(bytes.starts_with(b"%PDF-"));
    }

    #[test]
    fn long_texts_go_on_to_more_pages() {
        let renderer = PdfRenderer::new().unwrap_or_else(|e| unreachable!("{e}"));
        let lines: Vec<String> = (1..=120).map(|n| format!("sətir {n}")).collect();
        let bytes = renderer.render(&DocumentText {
            kind: domain::documents::DocumentKind::InspectionResult,
            file_name: "x.pdf".into(),
            title: "Nəticə / Result".into(),
            lines,
        });
        let text = pdf_extract::extract_text_from_mem(&bytes).unwrap_or_default();
        assert!(
            text.contains("sətir 1") && text.contains("sətir 120"),
            "{text}"
        );
    }
}
