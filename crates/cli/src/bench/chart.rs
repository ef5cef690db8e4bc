//! `bench.png`: per measurement, a throughput bar and a p99 latency bar side by side, drawn with
//! plotters into a pixel buffer and encoded as PNG. Text uses a font embedded in the binary
//! (`assets/DejaVuSans-subset.ttf`), so no system font library is needed.

use super::Row;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

const FONT: &[u8] = include_bytes!("../../assets/DejaVuSans-subset.ttf");
const FAMILY: &str = "polypay-bench";

const WIDTH: u32 = 1400;
const ROW_H: u32 = 34;
const TOP: u32 = 96;
const LABELS: i32 = 380;
const MARGIN: i32 = 20;

/// The rows that get bars: everything measured except the echo baseline and the RSA bound
/// (both are reference lines, named in the title instead).
fn charted(r: &Row) -> bool {
    !r.name.starts_with("baseline") && !r.name.ends_with("RSA bound")
}

fn color(r: &Row) -> RGBColor {
    if r.name.contains("callback") {
        RGBColor(221, 132, 82)
    } else if r.name.contains("stored") {
        RGBColor(85, 168, 104)
    } else {
        RGBColor(76, 114, 176)
    }
}

/// The image size for `bars` bars.
pub fn size(bars: usize) -> (u32, u32) {
    (WIDTH, TOP + ROW_H * (bars.max(1) as u32) + 40)
}

/// Renders the chart of `rows` as PNG bytes.
pub fn render(rows: &[Row]) -> anyhow::Result<Vec<u8>> {
    plotters::style::register_font(FAMILY, FontStyle::Normal, FONT)
        .map_err(|_| anyhow::anyhow!("the embedded chart font does not parse"))?;
    let bars: Vec<&Row> = rows.iter().filter(|r| charted(r)).collect();
    let (w, h) = size(bars.len());
    let mut rgb = vec![255u8; (w * h * 3) as usize];
    draw(&mut rgb, (w, h), rows, &bars).map_err(|e| anyhow::anyhow!("drawing the chart: {e}"))?;
    encode(&rgb, w, h)
}

type Area<'a> = DrawingArea<BitMapBackend<'a>, plotters::coord::Shift>;
type DrawResult =
    Result<(), DrawingAreaErrorKind<<BitMapBackend<'static> as DrawingBackend>::ErrorType>>;

fn draw(rgb: &mut [u8], (w, h): (u32, u32), rows: &[Row], bars: &[&Row]) -> Result<(), String> {
    let root = BitMapBackend::with_buffer(rgb, (w, h)).into_drawing_area();
    let result: DrawResult = (|| {
        root.fill(&WHITE)?;
        title(&root, rows)?;
        let panel_w = (w as i32 - LABELS - 3 * MARGIN) / 2;
        let left = (LABELS, panel_w);
        let right = (LABELS + panel_w + 2 * MARGIN, panel_w);
        let rps: Vec<f64> = bars.iter().map(|r| r.rps).collect();
        let p99: Vec<f64> = bars.iter().map(|r| r.p99_ms).collect();
        let spreads: Vec<Spread> = bars.iter().map(|r| r.spread()).collect();
        panel(
            &root,
            left,
            "throughput (req/s; callbacks: acks/s; whiskers: lowest-highest run)",
            (&rps, &spreads),
            bars,
            0,
        )?;
        panel(&root, right, "p99 latency (ms)", (&p99, &[]), bars, 2)?;
        for (i, r) in bars.iter().enumerate() {
            let y = row_mid(i);
            root.draw(&Text::new(
                r.name.clone(),
                (MARGIN, y),
                text(15.0, BLACK).pos(Pos::new(HPos::Left, VPos::Center)),
            ))?;
        }
        root.present()
    })();
    result.map_err(|e| e.to_string())
}

fn text(size: f64, color: RGBColor) -> TextStyle<'static> {
    let mut style = TextStyle::from((FAMILY, size).into_font());
    style.color = color.to_backend_color();
    style
}

fn row_mid(i: usize) -> i32 {
    (TOP + ROW_H * i as u32 + ROW_H / 2) as i32
}

fn title(root: &Area<'_>, rows: &[Row]) -> DrawResult {
    let backend = rows.first().map_or("", |r| r.backend.as_str());
    root.draw(&Text::new(
        format!("polypay bench ({backend})"),
        (MARGIN, 14),
        text(22.0, BLACK),
    ))?;
    let refs: Vec<String> = rows
        .iter()
        .filter(|r| !charted(r))
        .map(|r| format!("{}: {} req/s", r.name, thousands(r.rps)))
        .collect();
    root.draw(&Text::new(
        refs.join("   ·   "),
        (MARGIN, 46),
        text(15.0, RGBColor(90, 90, 90)),
    ))
}

/// A bar's whisker: [`Row::spread`].
type Spread = Option<(f64, f64)>;

/// One column of horizontal bars, scaled to its largest value, each with an optional whisker
/// from the lowest to the highest of its runs.
fn panel(
    root: &Area<'_>,
    (x, width): (i32, i32),
    heading: &str,
    (values, spreads): (&[f64], &[Spread]),
    bars: &[&Row],
    decimals: usize,
) -> DrawResult {
    root.draw(&Text::new(
        heading.to_string(),
        (x, TOP as i32 - 24),
        text(16.0, BLACK),
    ))?;
    let highest = spreads.iter().flatten().map(|&(_, hi)| hi);
    let max = values
        .iter()
        .copied()
        .chain(highest)
        .fold(0.0, f64::max)
        .max(1e-9)
        * 1.25;
    let at = |v: f64| x + ((v / max) * width as f64).round() as i32;
    let bottom = row_mid(bars.len().max(1) - 1) + ROW_H as i32 / 2;
    root.draw(&PathElement::new(
        vec![(x, TOP as i32 - 4), (x, bottom)],
        BLACK,
    ))?;
    for (i, (v, r)) in values.iter().zip(bars).enumerate() {
        let y = row_mid(i);
        let len = ((v / max) * width as f64).round() as i32;
        let half = (ROW_H as i32 * 3) / 10;
        root.draw(&Rectangle::new(
            [(x, y - half), (x + len.max(1), y + half)],
            color(r).filled(),
        ))?;
        let mut label_x = x + len + 6;
        if let Some(&Some((lo, hi))) = spreads.get(i) {
            let (a, b, tick) = (at(lo), at(hi), half / 2);
            root.draw(&PathElement::new(vec![(a, y), (b, y)], BLACK))?;
            root.draw(&PathElement::new(vec![(a, y - tick), (a, y + tick)], BLACK))?;
            root.draw(&PathElement::new(vec![(b, y - tick), (b, y + tick)], BLACK))?;
            label_x = label_x.max(b + 6);
        }
        let label = if decimals == 0 {
            thousands(*v)
        } else {
            format!("{v:.decimals$}")
        };
        root.draw(&Text::new(
            label,
            (label_x, y),
            text(14.0, BLACK).pos(Pos::new(HPos::Left, VPos::Center)),
        ))?;
    }
    Ok(())
}

/// `12345.6` -> `12,346`.
pub fn thousands(v: f64) -> String {
    let digits = format!("{:.0}", v.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn encode(rgb: &[u8], w: u32, h: u32) -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, w, h);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(rgb)?;
    writer.finish()?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, rps: f64, p99: f64) -> Row {
        Row {
            name: name.into(),
            backend: "sqlite".into(),
            rps,
            p50_ms: p99 / 2.0,
            p90_ms: p99 / 1.5,
            p99_ms: p99,
            max_ms: p99 * 2.0,
            requests: 100,
            errors: 0,
            ratio_to_baseline: None,
            note: String::new(),
            runs: Vec::new(),
        }
    }

    #[test]
    fn renders_a_png_of_the_expected_size_with_bars() {
        let rows = vec![
            row("baseline (JSON echo)", 50_000.0, 3.0),
            row("passtopay create-payment", 3_150.0, 40.0),
            row("fintech33 create-payment", 1_094.0, 97.0),
            row("fintech33 RSA bound", 2_400.0, 0.9),
            row("passtopay callback delivery", 5_500.0, 2.0),
        ];
        let png_bytes = render(&rows).unwrap();
        assert_eq!(&png_bytes[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(&png_bytes[12..16], b"IHDR");
        let w = u32::from_be_bytes(png_bytes[16..20].try_into().unwrap());
        let h = u32::from_be_bytes(png_bytes[20..24].try_into().unwrap());
        assert_eq!((w, h), size(3), "three charted rows");
        let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
        let mut reader = decoder.read_info().unwrap();
        let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
        reader.next_frame(&mut pixels).unwrap();
        let bar_blue = pixels.chunks(3).filter(|p| p == &[76, 114, 176]).count();
        let dark_text = pixels.chunks(3).filter(|p| p[0] < 60 && p[1] < 60).count();
        assert!(
            bar_blue > 1000,
            "the create-payment bars are drawn ({bar_blue} px)"
        );
        assert!(dark_text > 500, "labels are drawn ({dark_text} px)");
    }

    fn black_pixels(rows: &[Row]) -> usize {
        let decoder = png::Decoder::new(std::io::Cursor::new(render(rows).unwrap()));
        let mut reader = decoder.read_info().unwrap();
        let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
        reader.next_frame(&mut pixels).unwrap();
        pixels.chunks(3).filter(|p| p == &[0, 0, 0]).count()
    }

    #[test]
    fn a_repeated_row_gets_a_whisker_from_its_lowest_to_its_highest_run() {
        let once = vec![row("passtopay create-payment", 3_000.0, 10.0)];
        let mut repeated = once.clone();
        repeated[0].runs = vec![2_000.0, 3_000.0, 4_000.0];
        let (plain, whisker) = (black_pixels(&once), black_pixels(&repeated));
        // The line spans a third of the scale (2k-4k of a 5k axis), plus its two end ticks.
        assert!(whisker > plain + 150, "{plain} -> {whisker} black pixels");
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0.4), "0");
        assert_eq!(thousands(999.0), "999");
        assert_eq!(thousands(1234.6), "1,235");
        assert_eq!(thousands(1_234_567.0), "1,234,567");
    }
}
