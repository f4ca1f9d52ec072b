//! Rendering a deliverable in a format. HTML escapes every text it is
//! given; nothing of the content becomes markup.

use entity::enums::ExportFormat;

/// What goes into a deliverable.
pub struct Parts<'a> {
    pub title: &'a str,
    /// The workspace's name, when the profile includes branding.
    pub brand: Option<&'a str>,
    pub header: Option<&'a str>,
    pub body: &'a str,
    pub footer: Option<&'a str>,
}

pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Paragraphs (split at blank lines) with line breaks kept.
fn html_paragraphs(text: &str) -> String {
    text.split("\n\n")
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            let lines: Vec<String> = p.lines().map(escape_html).collect();
            format!("<p>{}</p>", lines.join("<br>\n"))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

pub fn render(format: ExportFormat, parts: &Parts<'_>) -> String {
    match format {
        ExportFormat::Markdown => {
            let mut out = String::new();
            if let Some(brand) = parts.brand {
                out.push_str(&format!("**{brand}**\n\n"));
            }
            out.push_str(&format!("# {}\n\n", parts.title));
            if let Some(header) = parts.header {
                out.push_str(&format!("{header}\n\n"));
            }
            out.push_str(parts.body.trim_end());
            out.push('\n');
            if let Some(footer) = parts.footer {
                out.push_str(&format!("\n---\n\n{footer}\n"));
            }
            out
        }
        ExportFormat::Html => {
            let mut out = format!(
                "<!doctype html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n</head>\n<body>\n",
                escape_html(parts.title)
            );
            if parts.brand.is_some() || parts.header.is_some() {
                out.push_str("<header>\n");
                if let Some(brand) = parts.brand {
                    out.push_str(&format!("<p class=\"brand\">{}</p>\n", escape_html(brand)));
                }
                if let Some(header) = parts.header {
                    out.push_str(&format!("{}\n", html_paragraphs(header)));
                }
                out.push_str("</header>\n");
            }
            out.push_str(&format!(
                "<main>\n<h1>{}</h1>\n{}\n</main>\n",
                escape_html(parts.title),
                html_paragraphs(parts.body)
            ));
            if let Some(footer) = parts.footer {
                out.push_str(&format!(
                    "<footer>\n{}\n</footer>\n",
                    html_paragraphs(footer)
                ));
            }
            out.push_str("</body>\n</html>\n");
            out
        }
        ExportFormat::Text => {
            let mut out = String::new();
            if let Some(brand) = parts.brand {
                out.push_str(&format!("{brand}\n\n"));
            }
            out.push_str(&format!("{}\n\n", parts.title));
            if let Some(header) = parts.header {
                out.push_str(&format!("{header}\n\n"));
            }
            out.push_str(parts.body.trim_end());
            out.push('\n');
            if let Some(footer) = parts.footer {
                out.push_str(&format!("\n{footer}\n"));
            }
            out
        }
    }
}

/// The media type and file extension of a format.
pub fn media(format: ExportFormat) -> (&'static str, &'static str) {
    match format {
        ExportFormat::Markdown => ("text/markdown; charset=utf-8", "md"),
        ExportFormat::Html => ("text/html; charset=utf-8", "html"),
        ExportFormat::Text => ("text/plain; charset=utf-8", "txt"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_escapes_everything_it_is_given() {
        let parts = Parts {
            title: "<script>t</script>",
            brand: Some("A & B"),
            header: Some("\"quoted\""),
            body: "<img src=x onerror=alert(1)>\n\nsecond 'para'",
            footer: Some("</body>"),
        };
        let html = render(ExportFormat::Html, &parts);
        assert!(
            !html.contains("<script>")
                && !html.contains("<img")
                && !html.contains("</body>\n</footer>")
        );
        assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;"));
        assert!(html.contains("A &amp; B") && html.contains("&#39;para&#39;"));
        assert_eq!(html.matches("</body>").count(), 1);
    }
}
