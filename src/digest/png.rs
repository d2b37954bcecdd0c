//! The bias bar as a PNG: three coloured segments (Left blue, Center grey, Right red) on a
//! rounded bar, each labelled with its share where it fits, and a legend line beneath, in the
//! manner of Ground News' bar; when any covering outlet is rated for factuality, a second thin
//! bar beneath (High green, Mixed amber, Low red). Drawn with tiny-skia; text with the bundled DejaVu Sans Bold
//! (Bitstream Vera licence, `assets/fonts/LICENSE-DejaVu.txt`).

use ab_glyph::{Font, FontRef, PxScale, ScaleFont};
use tiny_skia::{FillRule, Mask, Paint, PathBuilder, Pixmap, Rect, Transform};

use crate::summarise::Coverage;

/// Image size in pixels (taller with the factuality bar).
pub(crate) const WIDTH: u32 = 640;
pub(crate) const HEIGHT: u32 = 84;
const HEIGHT_WITH_FACTUALITY: u32 = 104;

const FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans-Bold.ttf");

const LEFT: [u8; 3] = [0x2F, 0x6F, 0xD6];
const CENTER: [u8; 3] = [0xE3, 0xE3, 0xE3];
const RIGHT: [u8; 3] = [0xD1, 0x4B, 0x3B];
const EMPTY: [u8; 3] = [0x9A, 0x9A, 0x9A];
const HIGH: [u8; 3] = [0x3B, 0xA5, 0x5C];
const MIXED: [u8; 3] = [0xE0, 0xA8, 0x2E];
const LOW: [u8; 3] = [0xC0, 0x39, 0x2B];
const BACKGROUND: [u8; 3] = [0x2B, 0x2D, 0x31];
const WHITE: [u8; 3] = [0xFF, 0xFF, 0xFF];
const DARK: [u8; 3] = [0x20, 0x20, 0x20];
const LEGEND: [u8; 3] = [0xDB, 0xDE, 0xE1];

/// The bar could not be drawn or encoded.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PngError {
    #[error("the bundled font cannot be read")]
    Font,
    #[error("cannot encode the PNG: {0}")]
    Encode(String),
}

/// Draws the bias bar of a story's coverage as PNG bytes.
pub(crate) fn bias_bar(c: &Coverage) -> Result<Vec<u8>, PngError> {
    let font = FontRef::try_from_slice(FONT).map_err(|_| PngError::Font)?;
    let height = if c.factuality.rated() > 0 {
        HEIGHT_WITH_FACTUALITY
    } else {
        HEIGHT
    };
    let mut pixmap = Pixmap::new(WIDTH, height).expect("non-zero size");
    pixmap.fill(tiny_skia::Color::from_rgba8(
        BACKGROUND[0],
        BACKGROUND[1],
        BACKGROUND[2],
        255,
    ));
    let bar = Bar {
        x: 12.0,
        y: 10.0,
        w: WIDTH as f32 - 24.0,
        h: 40.0,
    };
    let mut mask = Mask::new(WIDTH, height).expect("non-zero size");
    mask.fill_path(
        &rounded_rect(bar.x, bar.y, bar.w, bar.h, 10.0),
        FillRule::Winding,
        true,
        Transform::identity(),
    );
    if c.rated_sources == 0 {
        fill(&mut pixmap, &mask, bar.x, bar.y, bar.w, bar.h, EMPTY);
        let label = "No rated sources yet";
        let tw = text_width(&font, BAR_FONT, label);
        let x = bar.x + (bar.w - tw) / 2.0;
        draw_text(&mut pixmap, &font, BAR_FONT, x, bar.y + 27.0, label, DARK);
    } else {
        draw_segments(&mut pixmap, &mask, &font, &bar, c);
    }
    draw_text(
        &mut pixmap,
        &font,
        PxScale::from(15.0),
        bar.x,
        bar.y + bar.h + 24.0,
        &legend(c),
        LEGEND,
    );
    if c.factuality.rated() > 0 {
        draw_factuality(&mut pixmap, &font, &bar, &c.factuality.percent);
    }
    pixmap
        .encode_png()
        .map_err(|e| PngError::Encode(e.to_string()))
}

/// Where the bar is drawn.
struct Bar {
    x: f32,
    y: f32,
    w: f32,
    h: f32,
}

/// Size of the labels inside the bar.
const BAR_FONT: PxScale = PxScale { x: 20.0, y: 20.0 };

/// One segment per side, each labelled with the longest label that fits ("Left 20%", "L 20%",
/// "20%", or none).
fn draw_segments(pixmap: &mut Pixmap, mask: &Mask, font: &FontRef<'_>, bar: &Bar, c: &Coverage) {
    let widths = segment_widths(&c.percent, bar.w);
    let mut x = bar.x;
    for (i, colour) in [LEFT, CENTER, RIGHT].into_iter().enumerate() {
        let sw = widths[i];
        if sw <= 0.0 {
            continue;
        }
        fill(pixmap, mask, x, bar.y, sw, bar.h, colour);
        let ink = if i == 1 { DARK } else { WHITE };
        let name = ["Left", "Center", "Right"][i];
        let initial = ["L", "C", "R"][i];
        let pct = c.percent[i];
        let labels = [
            format!("{name} {pct}%"),
            format!("{initial} {pct}%"),
            format!("{pct}%"),
        ];
        if let Some((label, tw)) = labels
            .iter()
            .map(|l| (l, text_width(font, BAR_FONT, l)))
            .find(|(_, tw)| tw + 8.0 <= sw)
        {
            draw_text(
                pixmap,
                font,
                BAR_FONT,
                x + (sw - tw) / 2.0,
                bar.y + 27.0,
                label,
                ink,
            );
        }
        x += sw;
    }
}

/// The thin factuality bar under the legend, after its label: High, Mixed and Low in
/// proportion.
fn draw_factuality(pixmap: &mut Pixmap, font: &FontRef<'_>, bar: &Bar, percent: &[u8; 3]) {
    let scale = PxScale::from(13.0);
    let label = "Factuality";
    draw_text(
        pixmap,
        font,
        scale,
        bar.x,
        HEIGHT as f32 + 11.0,
        label,
        LEGEND,
    );
    let x0 = bar.x + text_width(font, scale, label) + 10.0;
    let (y, h, w) = (HEIGHT as f32 + 2.0, 10.0, bar.x + bar.w - x0);
    let mut mask = Mask::new(WIDTH, HEIGHT_WITH_FACTUALITY).expect("non-zero size");
    mask.fill_path(
        &rounded_rect(x0, y, w, h, 5.0),
        FillRule::Winding,
        true,
        Transform::identity(),
    );
    let mut x = x0;
    for (sw, colour) in segment_widths(percent, w)
        .into_iter()
        .zip([HIGH, MIXED, LOW])
    {
        if sw > 0.0 {
            fill(pixmap, &mask, x, y, sw, h, colour);
        }
        x += sw;
    }
}

/// The line under the bar: percentages, sources, unrated, blindspot.
fn legend(c: &Coverage) -> String {
    let mut legend = format!("{}  ·  {} sources", c.summary_line(), c.sources);
    if c.unrated_sources > 0 {
        legend.push_str(&format!(" ({} unrated)", c.unrated_sources));
    }
    if let Some(side) = c.blindspot {
        legend.push_str(&format!("  ·  Blindspot: {}", side.label()));
    }
    legend
}

/// Segment widths in proportion to the shares; a non-zero share gets at least 6 px.
fn segment_widths(percent: &[u8; 3], total: f32) -> [f32; 3] {
    let min = 6.0;
    let mut w = percent.map(|p| total * f32::from(p) / 100.0);
    let short: f32 = w
        .iter()
        .filter(|&&x| x > 0.0 && x < min)
        .map(|x| min - x)
        .sum();
    if short > 0.0 {
        let widest = (0..3).max_by(|&a, &b| w[a].total_cmp(&w[b])).unwrap_or(0);
        for x in &mut w {
            if *x > 0.0 && *x < min {
                *x = min;
            }
        }
        w[widest] -= short;
    }
    w
}

fn fill(pixmap: &mut Pixmap, mask: &Mask, x: f32, y: f32, w: f32, h: f32, rgb: [u8; 3]) {
    let mut paint = Paint::default();
    paint.set_color_rgba8(rgb[0], rgb[1], rgb[2], 255);
    paint.anti_alias = true;
    if let Some(rect) = Rect::from_xywh(x, y, w, h) {
        pixmap.fill_rect(rect, &paint, Transform::identity(), Some(mask));
    }
}

fn rounded_rect(x: f32, y: f32, w: f32, h: f32, r: f32) -> tiny_skia::Path {
    let mut pb = PathBuilder::new();
    pb.move_to(x + r, y);
    pb.line_to(x + w - r, y);
    pb.quad_to(x + w, y, x + w, y + r);
    pb.line_to(x + w, y + h - r);
    pb.quad_to(x + w, y + h, x + w - r, y + h);
    pb.line_to(x + r, y + h);
    pb.quad_to(x, y + h, x, y + h - r);
    pb.line_to(x, y + r);
    pb.quad_to(x, y, x + r, y);
    pb.close();
    pb.finish().expect("a closed non-empty path")
}

fn text_width(font: &FontRef<'_>, scale: PxScale, text: &str) -> f32 {
    let f = font.as_scaled(scale);
    let mut width = 0.0;
    let mut prev = None;
    for c in text.chars() {
        let id = f.glyph_id(c);
        if let Some(p) = prev {
            width += f.kern(p, id);
        }
        width += f.h_advance(id);
        prev = Some(id);
    }
    width
}

/// Draws `text` with its baseline at `baseline`, blending glyph coverage onto the pixmap.
fn draw_text(
    pixmap: &mut Pixmap,
    font: &FontRef<'_>,
    scale: PxScale,
    x: f32,
    baseline: f32,
    text: &str,
    rgb: [u8; 3],
) {
    let f = font.as_scaled(scale);
    let (width, height) = (pixmap.width() as i32, pixmap.height() as i32);
    let mut caret = x;
    let mut prev = None;
    for c in text.chars() {
        let id = f.glyph_id(c);
        if let Some(p) = prev {
            caret += f.kern(p, id);
        }
        let glyph = id.with_scale_and_position(scale, ab_glyph::point(caret, baseline));
        caret += f.h_advance(id);
        prev = Some(id);
        let Some(outlined) = font.outline_glyph(glyph) else {
            continue;
        };
        let bounds = outlined.px_bounds();
        let pixels = pixmap.pixels_mut();
        outlined.draw(|gx, gy, coverage| {
            let px = bounds.min.x as i32 + gx as i32;
            let py = bounds.min.y as i32 + gy as i32;
            if px < 0 || py < 0 || px >= width || py >= height {
                return;
            }
            let i = (py * width + px) as usize;
            let old = pixels[i];
            let a = coverage.clamp(0.0, 1.0);
            let mix =
                |new: u8, old: u8| (f32::from(new) * a + f32::from(old) * (1.0 - a)).round() as u8;
            // The background is opaque, so premultiplied and straight colour agree.
            if let Some(p) = tiny_skia::PremultipliedColorU8::from_rgba(
                mix(rgb[0], old.red()),
                mix(rgb[1], old.green()),
                mix(rgb[2], old.blue()),
                255,
            ) {
                pixels[i] = p;
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::BlindspotRule;

    #[test]
    fn segments_fill_the_bar_and_small_shares_stay_visible() {
        let w = segment_widths(&[1, 50, 49], 600.0);
        assert!((w.iter().sum::<f32>() - 600.0).abs() < 0.01);
        assert!(w[0] >= 6.0);
        assert_eq!(segment_widths(&[0, 100, 0], 600.0), [0.0, 600.0, 0.0]);
    }

    #[test]
    fn png_has_the_three_colours_in_order() {
        let rule = BlindspotRule::default();
        let c = Coverage::from_counts(10, [2, 0, 5, 0, 3], 1, None, None, &rule);
        let png = bias_bar(&c).unwrap();
        let img = Pixmap::decode_png(&png).unwrap();
        assert_eq!((img.width(), img.height()), (WIDTH, HEIGHT));
        // Sample the bar's top edge (no text there) in each segment.
        let at = |x: u32| {
            let p = img.pixel(x, 14).unwrap();
            [p.red(), p.green(), p.blue()]
        };
        assert_eq!(at(40), LEFT);
        assert_eq!(at(320), CENTER);
        assert_eq!(at(600), RIGHT);
    }

    #[test]
    fn factuality_adds_a_thin_bar_in_proportion() {
        let rule = BlindspotRule::default();
        let mut c = Coverage::from_counts(10, [2, 0, 5, 0, 3], 1, None, None, &rule);
        c.factuality = crate::summarise::FactualityMix::from_counts(
            [2, 1, 1],
            3,
            &crate::config::FactualityRule::default(),
        );
        let img = Pixmap::decode_png(&bias_bar(&c).unwrap()).unwrap();
        assert_eq!(img.height(), HEIGHT_WITH_FACTUALITY);
        let at = |x: u32| {
            let p = img.pixel(x, HEIGHT + 6).unwrap();
            [p.red(), p.green(), p.blue()]
        };
        // High 50% · Mixed 25% · Low 25% of the bar after the label (about x = 100 to 628).
        assert_eq!(at(150), HIGH);
        assert_eq!(at(430), MIXED);
        assert_eq!(at(600), LOW);
    }
}
