//! QR codes of the platform's links (ISO/IEC 18004, byte mode, error correction level M) as PNG
//! and SVG images: BlockATM's E1 `qrCode` data URI, PassToPay's `codeImgUrl`.
//!
//! The encoder is written here (it was BlockATM's, which could not add a dependency then),
//! after Project Nayuki's reference algorithm: version chosen by length,
//! Reed-Solomon over GF(256) with polynomial 0x11D, blocks interleaved, mask chosen by the
//! run/block/balance penalties (any mask decodes; the penalty only improves scanning).
//! The PNG is 1-bit grayscale with stored (uncompressed) deflate blocks.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// Error-correction codewords per block, level M, by version (index 0 unused).
const ECC_PER_BLOCK: [u8; 41] = [
    0, 10, 16, 26, 18, 24, 16, 18, 22, 22, 26, 30, 22, 22, 24, 24, 28, 28, 26, 26, 26, 26, 28, 28,
    28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28,
];
/// Error-correction blocks, level M, by version (index 0 unused).
const BLOCKS: [u8; 41] = [
    0, 1, 1, 1, 2, 2, 4, 4, 4, 5, 5, 5, 8, 9, 9, 10, 10, 11, 13, 14, 16, 17, 17, 18, 20, 21, 23,
    25, 26, 28, 29, 31, 33, 35, 37, 38, 40, 43, 45, 47, 49,
];
/// Pixels per module and quiet-zone width (modules) of the PNG.
const SCALE: usize = 4;
const QUIET: usize = 4;

/// The PNG data URI of `text`'s QR code; `None` when the text exceeds version 40 (2331 bytes).
pub fn png_data_uri(text: &str) -> Option<String> {
    Some(format!(
        "data:image/png;base64,{}",
        STANDARD.encode(png(text)?)
    ))
}

/// `text`'s QR code as a PNG file.
pub fn png(text: &str) -> Option<Vec<u8>> {
    Some(QrCode::encode(text.as_bytes())?.to_png())
}

/// `text`'s QR code as an SVG document.
pub fn svg(text: &str) -> Option<String> {
    Some(QrCode::encode(text.as_bytes())?.to_svg())
}

/// A square matrix of modules (`true` = dark).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QrCode {
    pub version: usize,
    pub size: usize,
    modules: Vec<bool>,
    function: Vec<bool>,
}

impl QrCode {
    /// Encodes `data` in byte mode at the smallest version that holds it.
    pub fn encode(data: &[u8]) -> Option<QrCode> {
        let version = (1..=40).find(|&v| {
            let count_bits = if v <= 9 { 8 } else { 16 };
            4 + count_bits + data.len() * 8 <= data_codewords(v) * 8
        })?;
        let codewords = add_ecc_and_interleave(&data_bits(data, version), version);
        let size = version * 4 + 17;
        let mut qr = QrCode {
            version,
            size,
            modules: vec![false; size * size],
            function: vec![false; size * size],
        };
        qr.draw_function_patterns();
        qr.draw_codewords(&codewords);
        let mask = if size <= 64 {
            qr.best_mask_by_rows()
        } else {
            (0..8)
                .min_by_key(|&m| {
                    let mut trial = qr.clone();
                    trial.apply_mask(m);
                    trial.draw_format_bits(m);
                    trial.penalty()
                })
                .unwrap_or(0)
        };
        qr.apply_mask(mask);
        qr.draw_format_bits(mask);
        Some(qr)
    }

    /// Whether the module at column `x`, row `y` is dark.
    pub fn module(&self, x: usize, y: usize) -> bool {
        self.modules[y * self.size + x]
    }

    fn set_function(&mut self, x: usize, y: usize, dark: bool) {
        self.modules[y * self.size + x] = dark;
        self.function[y * self.size + x] = true;
    }

    fn draw_function_patterns(&mut self) {
        let size = self.size;
        for i in 0..size {
            self.set_function(6, i, i % 2 == 0);
            self.set_function(i, 6, i % 2 == 0);
        }
        for (x, y) in [(3, 3), (size - 4, 3), (3, size - 4)] {
            self.draw_finder(x, y);
        }
        let positions = alignment_positions(self.version);
        let n = positions.len();
        for (i, &ay) in positions.iter().enumerate() {
            for (j, &ax) in positions.iter().enumerate() {
                let corner = (i == 0 && (j == 0 || j == n - 1)) || (i == n - 1 && j == 0);
                if !corner {
                    self.draw_alignment(ax, ay);
                }
            }
        }
        self.draw_format_bits(0);
        self.draw_version();
    }

    fn draw_finder(&mut self, x: usize, y: usize) {
        for dy in -4i32..=4 {
            for dx in -4i32..=4 {
                let (xx, yy) = (x as i32 + dx, y as i32 + dy);
                if (0..self.size as i32).contains(&xx) && (0..self.size as i32).contains(&yy) {
                    let dist = dx.abs().max(dy.abs());
                    self.set_function(xx as usize, yy as usize, dist != 2 && dist != 4);
                }
            }
        }
    }

    fn draw_alignment(&mut self, x: usize, y: usize) {
        for dy in -2i32..=2 {
            for dx in -2i32..=2 {
                let dark = dx.abs().max(dy.abs()) != 1;
                self.set_function((x as i32 + dx) as usize, (y as i32 + dy) as usize, dark);
            }
        }
    }

    fn draw_format_bits(&mut self, mask: u32) {
        for (x, y, dark) in format_cells(self.size, mask) {
            self.set_function(x, y, dark);
        }
    }

    /// Each row as a bit set (bit `x` = module `x` dark); codes up to 64 modules wide.
    fn rows(&self, cells: &[bool]) -> Vec<u64> {
        let n = self.size;
        (0..n)
            .map(|y| {
                cells[y * n..(y + 1) * n]
                    .iter()
                    .enumerate()
                    .fold(0u64, |row, (x, &dark)| row | (u64::from(dark) << x))
            })
            .collect()
    }

    /// The mask with the lowest [`penalty_of_rows`] (the first on a tie), trying all eight on
    /// bit rows: a mask is an XOR of its pattern on the data modules, then that mask's format
    /// bits. Same choice as applying each mask and scoring it with [`QrCode::penalty`].
    fn best_mask_by_rows(&self) -> u32 {
        let n = self.size;
        let base = self.rows(&self.modules);
        let function = self.rows(&self.function);
        let mut trial = vec![0u64; n];
        (0..8)
            .min_by_key(|&m| {
                for (y, row) in trial.iter_mut().enumerate() {
                    *row = base[y] ^ (mask_row(m, y, n) & !function[y]);
                }
                for (x, y, dark) in format_cells(n, m) {
                    trial[y] = (trial[y] & !(1 << x)) | (u64::from(dark) << x);
                }
                penalty_of_rows(&trial, n)
            })
            .unwrap_or(0)
    }

    fn draw_version(&mut self) {
        if self.version < 7 {
            return;
        }
        let data = self.version as u32;
        let mut rem = data;
        for _ in 0..12 {
            rem = (rem << 1) ^ ((rem >> 11) * 0x1F25);
        }
        let bits = (data << 12) | rem;
        for i in 0..18 {
            let dark = (bits >> i) & 1 != 0;
            let (a, b) = (self.size - 11 + i % 3, i / 3);
            self.set_function(a, b, dark);
            self.set_function(b, a, dark);
        }
    }

    /// Places the codewords in the zig-zag order of the standard.
    fn draw_codewords(&mut self, data: &[u8]) {
        let size = self.size as i32;
        let mut i = 0usize;
        let mut right = size - 1;
        while right >= 1 {
            if right == 6 {
                right = 5;
            }
            for vert in 0..size {
                for j in 0..2 {
                    let x = (right - j) as usize;
                    let upward = (right + 1) & 2 == 0;
                    let y = if upward { size - 1 - vert } else { vert } as usize;
                    if !self.function[y * self.size + x] && i < data.len() * 8 {
                        self.modules[y * self.size + x] = (data[i >> 3] >> (7 - (i & 7))) & 1 != 0;
                        i += 1;
                    }
                }
            }
            right -= 2;
        }
    }

    fn apply_mask(&mut self, mask: u32) {
        self.invert_where(|x, y| mask_hit(mask, x, y));
    }

    /// Inverts every data module (not function patterns) where `pattern` holds.
    fn invert_where(&mut self, pattern: impl Fn(usize, usize) -> bool) {
        let n = self.size;
        for y in 0..n {
            let (modules, function) = (
                &mut self.modules[y * n..(y + 1) * n],
                &self.function[y * n..(y + 1) * n],
            );
            for x in 0..n {
                modules[x] ^= pattern(x, y) && !function[x];
            }
        }
    }

    /// The mask penalty (runs of five or more in rows and columns, 2x2 blocks, dark balance),
    /// in one pass over the rows: column runs are carried from row to row.
    fn penalty(&self) -> usize {
        let n = self.size;
        let m = &self.modules;
        let mut score = 0;
        let mut dark = 0;
        let mut column_runs = vec![0u32; n];
        for y in 0..n {
            let row = &m[y * n..(y + 1) * n];
            let above = y.checked_sub(1).map(|a| &m[a * n..(a + 1) * n]);
            let mut run = 0u32;
            for x in 0..n {
                let c = row[x];
                dark += usize::from(c);
                let same_left = x > 0 && row[x - 1] == c;
                run = if same_left { run + 1 } else { 1 };
                score += run_points(run);
                match above {
                    Some(above) => {
                        let same_above = above[x] == c;
                        column_runs[x] = if same_above { column_runs[x] + 1 } else { 1 };
                        if same_left && same_above && above[x - 1] == c {
                            score += 3;
                        }
                    }
                    None => column_runs[x] = 1,
                }
                score += run_points(column_runs[x]);
            }
        }
        score + balance_points(dark, n * n)
    }

    /// An SVG document, one unit per module, with a quiet zone.
    pub fn to_svg(&self) -> String {
        let width = self.size + 2 * QUIET;
        let mut path = String::new();
        for y in 0..self.size {
            for x in (0..self.size).filter(|&x| self.module(x, y)) {
                path.push_str(&format!("M{} {}h1v1h-1z", x + QUIET, y + QUIET));
            }
        }
        format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {width} {width}\" \
             width=\"{px}\" height=\"{px}\" shape-rendering=\"crispEdges\">\
             <rect width=\"{width}\" height=\"{width}\" fill=\"#fff\"/><path d=\"{path}\"/></svg>",
            px = width * SCALE
        )
    }

    /// A 1-bit grayscale PNG with a quiet zone.
    pub fn to_png(&self) -> Vec<u8> {
        let width = (self.size + 2 * QUIET) * SCALE;
        let row_bytes = width.div_ceil(8);
        let mut raw = Vec::with_capacity((row_bytes + 1) * width);
        let blank = vec![0xffu8; row_bytes];
        let mut row = vec![0xffu8; row_bytes];
        for py in 0..width {
            raw.push(0); // filter: none
            let my = (py / SCALE).checked_sub(QUIET).filter(|&my| my < self.size);
            let Some(my) = my else {
                raw.extend_from_slice(&blank);
                continue;
            };
            if py % SCALE == 0 {
                row.copy_from_slice(&blank);
                for mx in (0..self.size).filter(|&mx| self.module(mx, my)) {
                    for px in (QUIET + mx) * SCALE..(QUIET + mx + 1) * SCALE {
                        row[px / 8] &= !(0x80 >> (px % 8));
                    }
                }
            }
            raw.extend_from_slice(&row);
        }
        let mut ihdr = Vec::with_capacity(13);
        ihdr.extend_from_slice(&(width as u32).to_be_bytes());
        ihdr.extend_from_slice(&(width as u32).to_be_bytes());
        ihdr.extend_from_slice(&[1, 0, 0, 0, 0]);
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        png_chunk(&mut png, b"IHDR", &ihdr);
        png_chunk(&mut png, b"IDAT", &zlib_stored(&raw));
        png_chunk(&mut png, b"IEND", &[]);
        png
    }
}

/// The format modules of a level-M code with `mask`: column, row, dark.
fn format_cells(size: usize, mask: u32) -> impl Iterator<Item = (usize, usize, bool)> {
    // Level M's format bits are 00.
    let data = mask;
    let mut rem = data;
    for _ in 0..10 {
        rem = (rem << 1) ^ ((rem >> 9) * 0x537);
    }
    let bits = ((data << 10) | rem) ^ 0x5412;
    let bit = move |i: usize| (bits >> i) & 1 != 0;
    let first = (0..6)
        .map(move |i| (8, i, bit(i)))
        .chain([(8, 7, bit(6)), (8, 8, bit(7)), (7, 8, bit(8))])
        .chain((9..15).map(move |i| (14 - i, 8, bit(i))));
    let second = (0..8)
        .map(move |i| (size - 1 - i, 8, bit(i)))
        .chain((8..15).map(move |i| (8, size - 15 + i, bit(i))))
        .chain([(8, size - 8, true)]);
    first.chain(second)
}

/// Whether mask pattern `mask` inverts the data module at column `x`, row `y`.
const fn mask_hit(mask: u32, x: usize, y: usize) -> bool {
    match mask {
        0 => (x + y).is_multiple_of(2),
        1 => y.is_multiple_of(2),
        2 => x.is_multiple_of(3),
        3 => (x + y).is_multiple_of(3),
        4 => (x / 3 + y / 2).is_multiple_of(2),
        5 => x * y % 2 + x * y % 3 == 0,
        6 => (x * y % 2 + x * y % 3).is_multiple_of(2),
        _ => ((x + y) % 2 + x * y % 3).is_multiple_of(2),
    }
}

/// Row `y` (< 64) of mask pattern `mask` as bits (bit `x` set where the pattern inverts), `n`
/// (≤ 64) wide: a table lookup. Working the rows out per code, eight masks of `n` rows of `n`
/// modules each, was the largest single cost of a BlockATM create-payment (6.6% of the process's
/// samples in a `perf record --call-graph dwarf` of that row).
fn mask_row(mask: u32, y: usize, n: usize) -> u64 {
    let full = if n >= 64 { u64::MAX } else { (1u64 << n) - 1 };
    MASK_ROWS[mask as usize & 7][y] & full
}

/// Every mask pattern's rows 0..64, 64 modules wide (see `mask_row`), built at compile time.
static MASK_ROWS: [[u64; 64]; 8] = {
    let mut table = [[0u64; 64]; 8];
    let mut mask = 0;
    while mask < 8 {
        let mut y = 0;
        while y < 64 {
            let mut x = 0;
            while x < 64 {
                if mask_hit(mask as u32, x, y) {
                    table[mask][y] |= 1 << x;
                }
                x += 1;
            }
            y += 1;
        }
        mask += 1;
    }
    table
};

/// Penalty points for the share of dark modules: 10 for each full 5% away from half.
fn balance_points(dark: usize, total: usize) -> usize {
    (dark * 20)
        .abs_diff(total * 10)
        .div_ceil(total)
        .saturating_sub(1)
        * 10
}

/// [`QrCode::penalty`] on bit rows (`n` ≤ 64 wide), a word of 64 modules at a time:
/// - runs: a window of five equal modules starting at `x` is bit `x` of `w`; a run of `L` ≥ 5
///   holds `L - 4` windows and scores `3 + (L - 5)` = windows + 2 × (runs that start);
/// - 2x2 blocks: equal to the right in this row, equal below here and below the right;
/// - columns: the same window logic over "equal to the row below" words.
fn penalty_of_rows(rows: &[u64], n: usize) -> usize {
    let full = if n == 64 { u64::MAX } else { (1u64 << n) - 1 };
    let mut score = 0usize;
    let mut dark = 0usize;
    // Vertical: e[y] = columns where row y equals row y + 1.
    let eq_below: Vec<u64> = rows.windows(2).map(|w| !(w[0] ^ w[1]) & full).collect();
    let mut previous_window = 0u64;
    for (y, &row) in rows.iter().enumerate() {
        dark += row.count_ones() as usize;
        let eq_right = !(row ^ (row >> 1)) & (full >> 1);
        if n >= 5 {
            let w = eq_right & (eq_right >> 1) & (eq_right >> 2) & (eq_right >> 3) & (full >> 4);
            score += w.count_ones() as usize + 2 * (w & !(w << 1)).count_ones() as usize;
        }
        if y + 1 < n {
            let blocks = eq_right & eq_below[y] & (eq_below[y] >> 1) & (full >> 1);
            score += 3 * blocks.count_ones() as usize;
        }
        // Vertical windows of five starting at row y.
        let window = if y + 4 < n {
            eq_below[y] & eq_below[y + 1] & eq_below[y + 2] & eq_below[y + 3]
        } else {
            0
        };
        score +=
            window.count_ones() as usize + 2 * (window & !previous_window).count_ones() as usize;
        previous_window = window;
    }
    score + balance_points(dark, n * n)
}

/// Penalty points for the `run`-th module of a run: 3 at five, 1 for each one beyond.
fn run_points(run: u32) -> usize {
    match run {
        5 => 3,
        r if r > 5 => 1,
        _ => 0,
    }
}

fn raw_data_modules(version: usize) -> usize {
    let mut result = (16 * version + 128) * version + 64;
    if version >= 2 {
        let align = version / 7 + 2;
        result -= (25 * align - 10) * align - 55;
        if version >= 7 {
            result -= 36;
        }
    }
    result
}

fn data_codewords(version: usize) -> usize {
    raw_data_modules(version) / 8
        - usize::from(ECC_PER_BLOCK[version]) * usize::from(BLOCKS[version])
}

fn alignment_positions(version: usize) -> Vec<usize> {
    if version == 1 {
        return Vec::new();
    }
    let count = version / 7 + 2;
    let step = (version * 8 + count * 3 + 5) / (count * 4 - 4) * 2;
    let size = version * 4 + 17;
    let mut result: Vec<usize> = (0..count - 1).map(|i| size - 7 - i * step).collect();
    result.push(6);
    result.reverse();
    result
}

/// Mode, count, data, terminator and pad bytes, as codewords.
fn data_bits(data: &[u8], version: usize) -> Vec<u8> {
    let capacity = data_codewords(version) * 8;
    let mut bits: Vec<bool> = Vec::with_capacity(capacity);
    let mut push = |value: usize, len: usize| {
        for i in (0..len).rev() {
            bits.push((value >> i) & 1 != 0);
        }
    };
    push(0b0100, 4);
    push(data.len(), if version <= 9 { 8 } else { 16 });
    for &b in data {
        push(usize::from(b), 8);
    }
    let terminator = (capacity - bits.len()).min(4);
    bits.extend(std::iter::repeat_n(false, terminator));
    bits.extend(std::iter::repeat_n(false, (8 - bits.len() % 8) % 8));
    let mut bytes: Vec<u8> = bits
        .chunks(8)
        .map(|c| c.iter().fold(0u8, |acc, &b| (acc << 1) | u8::from(b)))
        .collect();
    for pad in [0xEC, 0x11].into_iter().cycle() {
        if bytes.len() >= capacity / 8 {
            break;
        }
        bytes.push(pad);
    }
    bytes
}

fn add_ecc_and_interleave(data: &[u8], version: usize) -> Vec<u8> {
    let blocks = usize::from(BLOCKS[version]);
    let ecc_len = usize::from(ECC_PER_BLOCK[version]);
    let raw = raw_data_modules(version) / 8;
    let short_blocks = blocks - raw % blocks;
    let short_len = raw / blocks;
    let divisor = rs_divisor(ecc_len);
    let mut all: Vec<Vec<u8>> = Vec::with_capacity(blocks);
    let mut k = 0;
    for i in 0..blocks {
        let len = short_len - ecc_len + usize::from(i >= short_blocks);
        let mut block = data[k..k + len].to_vec();
        k += len;
        let ecc = rs_remainder(&block, &divisor);
        if i < short_blocks {
            block.push(0);
        }
        block.extend_from_slice(&ecc);
        all.push(block);
    }
    let mut result = Vec::with_capacity(raw);
    for i in 0..all[0].len() {
        for (j, block) in all.iter().enumerate() {
            if i != short_len - ecc_len || j >= short_blocks {
                result.push(block[i]);
            }
        }
    }
    result
}

fn rs_divisor(degree: usize) -> Vec<u8> {
    let mut result = vec![0u8; degree - 1];
    result.push(1);
    let mut root = 1u8;
    for _ in 0..degree {
        for j in 0..degree {
            result[j] = gf_mul(result[j], root);
            if j + 1 < degree {
                result[j] ^= result[j + 1];
            }
        }
        root = gf_mul(root, 0x02);
    }
    result
}

fn rs_remainder(data: &[u8], divisor: &[u8]) -> Vec<u8> {
    let mut result = vec![0u8; divisor.len()];
    for &b in data {
        let factor = b ^ result.remove(0);
        result.push(0);
        for (x, &y) in result.iter_mut().zip(divisor) {
            *x ^= gf_mul(y, factor);
        }
    }
    result
}

fn gf_mul(x: u8, y: u8) -> u8 {
    let mut z = 0u8;
    for i in (0..8).rev() {
        z = (z << 1) ^ ((z >> 7) * 0x1D);
        z ^= ((y >> i) & 1) * x;
    }
    z
}

fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// zlib stream of stored deflate blocks (no compression).
fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x78, 0x01];
    let chunks: Vec<&[u8]> = data.chunks(65_535).collect();
    if chunks.is_empty() {
        out.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
    }
    for (i, chunk) in chunks.iter().enumerate() {
        out.push(u8::from(i + 1 == chunks.len()));
        let len = chunk.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(chunk);
    }
    out.extend_from_slice(&adler2::adler32_slice(data).to_be_bytes());
    out
}

/// CRC-32 (IEEE), as PNG chunks carry it. `crc32fast` folds with carry-less multiplication
/// where the CPU has it; a table lookup per byte was the largest cost of a BlockATM create after
/// the mask table (6.7% of the process's samples).
fn crc32(data: &[u8]) -> u32 {
    crc32fast::hash(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capacities_match_the_standard() {
        // Level M byte-mode capacities (ISO/IEC 18004 table 7).
        for (version, bytes) in [(1, 14), (2, 26), (5, 84), (7, 122), (10, 213), (40, 2331)] {
            let count_bits = if version <= 9 { 8 } else { 16 };
            assert_eq!((data_codewords(version) * 8 - 4 - count_bits) / 8, bytes);
        }
        assert_eq!(alignment_positions(7), vec![6, 22, 38]);
        assert_eq!(alignment_positions(32), vec![6, 34, 60, 86, 112, 138]);
    }

    #[test]
    fn reed_solomon_matches_a_known_codeword() {
        // "HELLO WORLD" in alphanumeric mode at 1-M, from the well-known worked example.
        let data = [
            0x20, 0x5B, 0x0B, 0x78, 0xD1, 0x72, 0xDC, 0x4D, 0x43, 0x40, 0xEC, 0x11, 0xEC, 0x11,
            0xEC, 0x11,
        ];
        let ecc = rs_remainder(&data, &rs_divisor(10));
        assert_eq!(
            ecc,
            [0xC4, 0x23, 0x27, 0x77, 0xEB, 0xD7, 0xE7, 0xE2, 0x5D, 0x17]
        );
    }

    #[test]
    fn png_is_well_formed() {
        let uri = png_data_uri("http://127.0.0.1:8080/cashier/0123456789abcdef").unwrap();
        let png = STANDARD
            .decode(uri.strip_prefix("data:image/png;base64,").unwrap())
            .unwrap();
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
        assert!(png.ends_with(&[0xAE, 0x42, 0x60, 0x82]), "IEND crc");
        let qr = QrCode::encode(b"http://127.0.0.1:8080/cashier/0123456789abcdef").unwrap();
        assert_eq!(qr.version, 4);
        // Finder pattern corners are dark, the separator light.
        assert!(qr.module(0, 0) && qr.module(qr.size - 1, 0) && qr.module(0, qr.size - 1));
        assert!(!qr.module(7, 7));
        assert!(png_data_uri(&"x".repeat(2400)).is_none());
    }

    #[test]
    fn checksums_match_their_check_values() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        let z = zlib_stored(b"Wikipedia");
        assert_eq!(z[z.len() - 4..], 0x11E6_0398u32.to_be_bytes());
        // Past the 5,552-byte reduction block.
        let long: Vec<u8> = (0..20_000u32).map(|i| (i * 7) as u8).collect();
        let (mut a, mut b) = (1u64, 0u64);
        for &byte in &long {
            a = (a + u64::from(byte)) % 65_521;
            b = (b + a) % 65_521;
        }
        let z = zlib_stored(&long);
        assert_eq!(z[z.len() - 4..], (((b << 16) | a) as u32).to_be_bytes());
    }

    #[test]
    fn every_module_is_drawn_as_its_pixels() {
        let qr = QrCode::encode(b"https://pay.example/cashier/0123456789abcdef").unwrap();
        let png = qr.to_png();
        // One IDAT with one stored block: zlib header (2), block header (5), then raw rows.
        let idat = png.windows(4).position(|w| w == b"IDAT").unwrap() + 4;
        let raw = &png[idat + 2 + 5..];
        let width = (qr.size + 2 * QUIET) * SCALE;
        let row_bytes = width.div_ceil(8);
        let dark = |px: usize, py: usize| {
            let row = &raw[py * (row_bytes + 1)..];
            assert_eq!(row[0], 0, "filter byte");
            row[1 + px / 8] & (0x80 >> (px % 8)) == 0
        };
        for my in 0..qr.size {
            for mx in 0..qr.size {
                for (dx, dy) in [(0, 0), (SCALE - 1, SCALE - 1), (1, 2)] {
                    let (px, py) = ((QUIET + mx) * SCALE + dx, (QUIET + my) * SCALE + dy);
                    assert_eq!(dark(px, py), qr.module(mx, my), "module {mx},{my}");
                }
            }
        }
        assert!(!dark(0, 0) && !dark(width - 1, width - 1), "quiet zone");
    }

    /// The penalty as the standard states it, line by line (the reference for the one-pass sum).
    fn reference_penalty(qr: &QrCode) -> usize {
        let n = qr.size;
        let mut score = 0;
        for line in 0..n {
            for horizontal in [true, false] {
                let at = |k: usize| {
                    if horizontal {
                        qr.module(k, line)
                    } else {
                        qr.module(line, k)
                    }
                };
                let mut run = 1;
                for k in 1..n {
                    if at(k) == at(k - 1) {
                        run += 1;
                        score += match run {
                            5 => 3,
                            r if r > 5 => 1,
                            _ => 0,
                        };
                    } else {
                        run = 1;
                    }
                }
            }
        }
        for y in 0..n - 1 {
            for x in 0..n - 1 {
                let c = qr.module(x, y);
                if c == qr.module(x + 1, y)
                    && c == qr.module(x, y + 1)
                    && c == qr.module(x + 1, y + 1)
                {
                    score += 3;
                }
            }
        }
        let dark = (0..n * n).filter(|i| qr.module(i % n, i / n)).count();
        let total = n * n;
        score
            + (dark * 20)
                .abs_diff(total * 10)
                .div_ceil(total)
                .saturating_sub(1)
                * 10
    }

    #[test]
    fn the_bit_row_mask_choice_is_the_scalar_one() {
        for len in [1usize, 10, 30, 60, 77, 100, 150, 200] {
            let text: String = (0..len)
                .map(|i| char::from(b'!' + (i * 7 % 90) as u8))
                .collect();
            let qr = QrCode::encode(text.as_bytes()).unwrap();
            if qr.size > 64 {
                continue;
            }
            // Rebuild the unmasked code the encoder chose from.
            let mut unmasked = qr.clone();
            let chosen = (0..8)
                .find(|&m| {
                    let mut t = qr.clone();
                    t.apply_mask(m);
                    t.draw_format_bits(0);
                    t.apply_mask(m);
                    t.draw_format_bits(m);
                    t.modules == qr.modules
                })
                .unwrap();
            unmasked.apply_mask(chosen);
            unmasked.draw_format_bits(0);
            let scalar = (0..8)
                .min_by_key(|&m| {
                    let mut trial = unmasked.clone();
                    trial.apply_mask(m);
                    trial.draw_format_bits(m);
                    trial.penalty()
                })
                .unwrap();
            assert_eq!(unmasked.best_mask_by_rows(), scalar, "length {len}");
            assert_eq!(chosen, scalar, "length {len}");
        }
    }

    #[test]
    fn the_one_pass_penalty_equals_the_reference_for_every_mask() {
        for text in [
            "x",
            "https://pay.example/cashier/0123456789abcdef",
            &"long".repeat(90),
        ] {
            let mut qr = QrCode::encode(text.as_bytes()).unwrap();
            for mask in 0..8 {
                qr.apply_mask(mask);
                qr.draw_format_bits(mask);
                assert_eq!(qr.penalty(), reference_penalty(&qr), "{text:?} mask {mask}");
                if qr.size <= 64 {
                    let rows = qr.rows(&qr.modules);
                    let by_rows = penalty_of_rows(&rows, qr.size);
                    assert_eq!(
                        by_rows,
                        reference_penalty(&qr),
                        "{text:?} mask {mask} (rows)"
                    );
                }
                qr.apply_mask(mask); // masks are XOR: applying twice restores the code
            }
        }
    }
}
