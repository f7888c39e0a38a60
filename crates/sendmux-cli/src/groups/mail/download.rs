//! `sendmux mail attachments get`: one attachment streamed into a file by
//! the client's `save_to`, which resumes a dropped download from what the
//! file already holds. On a terminal a large file gets a progress bar,
//! drawn from the file's growing size.

use std::io::IsTerminal;
use std::path::Path;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use sendmux_client::mailbox::Mailbox;
use serde_json::json;

use crate::args::OutputFormat;
use crate::failure::Failure;
use crate::records::done;
use crate::terminal::clean;

/// Files at least this large get a progress bar.
const LARGE: u64 = 1 << 20;

/// How often the bar looks at the file.
const TICK: Duration = Duration::from_millis(150);

/// Runs `sendmux mail attachments get`.
pub(crate) async fn run(
    mailbox: &Mailbox,
    message_id: &str,
    attachment_id: &str,
    file: &Path,
    format: OutputFormat,
) -> Result<(), Failure> {
    // The size is asked for only when a bar could be drawn: a pipe or a
    // script costs no extra request.
    let terminal = crate::terminal::escapes_allowed(std::io::stderr().is_terminal());
    let size = if terminal {
        size_of(mailbox, message_id, attachment_id).await
    } else {
        None
    };
    let bar = match size {
        Some(total) if total >= LARGE => progress_bar(total),
        _ => ProgressBar::hidden(),
    };
    let save = mailbox
        .attachments()
        .download(message_id, attachment_id)
        .save_to(file);
    let mut save = std::pin::pin!(save);
    let mut tick = tokio::time::interval(TICK);
    let saved = loop {
        tokio::select! {
            saved = &mut save => break saved,
            _ = tick.tick(), if !bar.is_hidden() => {
                if let Ok(meta) = std::fs::metadata(file) {
                    bar.set_position(meta.len());
                }
            }
        }
    };
    bar.finish_and_clear();
    let written = saved?;
    let shown = json!({
        "message_id": message_id,
        "attachment_id": attachment_id,
        "path": file.display().to_string(),
        "bytes": written,
    });
    let message = format!(
        "Saved {written} bytes of attachment {} to {}.",
        clean(attachment_id),
        clean(&file.display().to_string())
    );
    done(format, &shown, &message)
}

/// The attachment's size from the message's metadata, if it says.
async fn size_of(mailbox: &Mailbox, message_id: &str, attachment_id: &str) -> Option<u64> {
    let message = mailbox.messages().get(message_id).send().await.ok()?;
    let attachment = message.attachments.iter().find(|a| a.id == attachment_id)?;
    attachment.size_bytes.and_then(|n| u64::try_from(n).ok())
}

/// A bar on stderr: bytes written of `total`, rate and time left.
fn progress_bar(total: u64) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(
        "{bar:30} {bytes}/{total_bytes} {binary_bytes_per_sec} {eta} left",
    ) {
        bar.set_style(style);
    }
    bar
}
