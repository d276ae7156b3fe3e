//! The top line: the engine (or the endpoint in view and the ones that are down), host
//! CPU and memory in use by containers, and how many containers run and images there are.
use berth_engine::human::human_size_binary;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::ctx::Ctx;
use crate::panes::containers::ContainersPane;
use crate::panes::images::ImagesPane;
use crate::widgets::accent;

pub fn draw(f: &mut Frame, area: Rect, ctx: &Ctx, containers: &ContainersPane, images: &ImagesPane) {
    let cfg = &ctx.cfg;
    let (total, running, cpu, mem) = containers.totals(ctx);
    let images = images.list.iter().filter(|i| ctx.in_view(&i.id)).count();
    let wide = area.width >= 120;
    let engine = match &ctx.info {
        // Several endpoints in view: the ctx part of the header says which.
        _ if ctx.show_host() => String::new(),
        Some(i) if !i.server_version.is_empty() && wide => format!("{} {} · {}", i.engine, i.server_version, ctx.backend),
        Some(i) if !i.server_version.is_empty() => format!("{} {}", i.engine, i.server_version),
        _ if wide => ctx.backend.clone(),
        _ => ctx.backend.split_whitespace().next().unwrap_or("").to_string(),
    };
    let cpu = match ctx.info.as_ref().map(|i| i.cpus).filter(|c| *c > 0) {
        Some(n) => format!("CPU {cpu:.1}%/{n}"),
        None => format!("CPU {cpu:.1}%"),
    };
    let mem = match ctx.info.as_ref().map(|i| i.memory_total).filter(|m| *m > 0) {
        Some(t) => format!("MEM {}/{}", human_size_binary(mem), human_size_binary(t)),
        None => format!("MEM {}", human_size_binary(mem)),
    };
    let counts = if wide {
        format!("containers {total} ({running} running)  images {images}")
    } else {
        format!("{running}/{total} up · {images} img")
    };
    let sep = if wide { "  │  " } else { " │ " };
    let mut spans = vec![Span::styled(" berth ", accent(cfg).add_modifier(Modifier::REVERSED))];
    if ctx.multi() {
        // Which endpoint is in view, and the ones that do not answer.
        let shown = match &ctx.endpoint {
            Some(e) => format!(" ctx {e}"),
            None => format!(" ctx all ({})", ctx.endpoints.len()),
        };
        spans.push(Span::styled(shown, accent(cfg)));
        for (name, _) in ctx.down_endpoints() {
            spans.push(Span::styled(format!(" ✗ {name} down"), Style::default().fg(cfg.theme.error)));
        }
        spans.push(Span::raw(sep));
    } else {
        spans.push(Span::raw(" "));
    }
    let engine = if engine.is_empty() { String::new() } else { format!("{engine}{sep}") };
    spans.push(Span::raw(format!("{engine}{cpu}  {mem}{sep}{counts}")));
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}
