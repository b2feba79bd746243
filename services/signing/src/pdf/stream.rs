//! Decoding of the streams the reader needs: cross-reference streams and object streams,
//! which are Flate-compressed, often with a PNG predictor.

use std::io::Read;

use super::object::{Dict, Object};

/// Largest decoded stream accepted, against decompression bombs.
const MAX_DECODED: u64 = 256 << 20;

/// Applies the stream's `/Filter` (none or `/FlateDecode`) and `/DecodeParms` predictor.
pub(crate) fn decode(dict: &Dict, raw: &[u8]) -> Result<Vec<u8>, String> {
    match filters(dict)?.as_slice() {
        [] => Ok(raw.to_vec()),
        [flate] if flate == b"FlateDecode" => {
            let inflated = inflate(raw)?;
            match decode_parms(dict) {
                Some(params) => unpredict(params, inflated),
                None => Ok(inflated),
            }
        }
        _ => Err("stream filter other than /FlateDecode".into()),
    }
}

/// The names in `/Filter`, which is a name or an array of names.
fn filters(dict: &Dict) -> Result<Vec<Vec<u8>>, String> {
    match dict.get("Filter") {
        None => Ok(Vec::new()),
        Some(Object::Name(name)) => Ok(vec![name.clone()]),
        Some(Object::Array(items)) => items
            .iter()
            .map(|item| match item {
                Object::Name(name) => Ok(name.clone()),
                _ => Err("bad /Filter".to_owned()),
            })
            .collect(),
        Some(_) => Err("bad /Filter".into()),
    }
}

/// The parameters of the (single) filter: `/DecodeParms` or the first of its array.
fn decode_parms(dict: &Dict) -> Option<&Dict> {
    match dict.get("DecodeParms") {
        Some(Object::Dict(params)) => Some(params),
        Some(Object::Array(items)) => match items.first() {
            Some(Object::Dict(params)) => Some(params),
            _ => None,
        },
        _ => None,
    }
}

fn inflate(raw: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    flate2::read::ZlibDecoder::new(raw)
        .take(MAX_DECODED)
        .read_to_end(&mut out)
        .map_err(|e| format!("cannot inflate stream: {e}"))?;
    Ok(out)
}

/// Undoes a PNG predictor (`/Predictor` 10 to 15); TIFF predictors are not used for these streams.
fn unpredict(params: &Dict, data: Vec<u8>) -> Result<Vec<u8>, String> {
    let predictor = params.int("Predictor").unwrap_or(1);
    if predictor == 1 {
        return Ok(data);
    }
    if predictor < 10 {
        return Err(format!("unsupported predictor {predictor}"));
    }
    let (pixel, width) = predictor_sizes(params, data.len())?;
    let mut out = Vec::with_capacity(data.len());
    let mut previous = vec![0u8; width];
    for row in data.chunks(width + 1) {
        let (&kind, row) = row.split_first().ok_or("empty predictor row")?;
        let mut current = row.to_vec();
        current.resize(width, 0);
        unfilter_row(kind, pixel, &previous, &mut current)?;
        out.extend_from_slice(&current);
        previous = current;
    }
    Ok(out)
}

/// The bytes of a pixel and of a row, from `/Colors`, `/BitsPerComponent` and `/Columns`. The
/// values come from the file: each is checked, the arithmetic cannot overflow, and a row may
/// not be longer than the `available` data.
fn predictor_sizes(params: &Dict, available: usize) -> Result<(usize, usize), String> {
    let colors = params.int("Colors").unwrap_or(1);
    let bits = params.int("BitsPerComponent").unwrap_or(8);
    let columns = params.int("Columns").unwrap_or(1);
    let bad = || {
        format!(
            "bad predictor parameters (/Colors {colors} /BitsPerComponent {bits} /Columns {columns})"
        )
    };
    if colors < 1 || columns < 1 || ![1, 2, 4, 8, 16].contains(&bits) {
        return Err(bad());
    }
    let bytes_for = |bits: i64| {
        let bytes = bits.checked_add(7)? / 8;
        usize::try_from(bytes).ok()
    };
    let pixel_bits = colors.checked_mul(bits);
    let pixel = pixel_bits.and_then(bytes_for).ok_or_else(bad)?;
    let width = pixel_bits
        .and_then(|b| b.checked_mul(columns))
        .and_then(bytes_for)
        .filter(|width| *width <= available)
        .ok_or_else(bad)?;
    Ok((pixel, width))
}

fn unfilter_row(kind: u8, pixel: usize, above: &[u8], row: &mut [u8]) -> Result<(), String> {
    for i in 0..row.len() {
        let left = if i >= pixel { row[i - pixel] } else { 0 };
        let up = above[i];
        let up_left = if i >= pixel { above[i - pixel] } else { 0 };
        let prediction = match kind {
            0 => 0,
            1 => left,
            2 => up,
            3 => ((u16::from(left) + u16::from(up)) / 2) as u8,
            4 => paeth(left, up, up_left),
            other => return Err(format!("bad PNG filter type {other}")),
        };
        row[i] = row[i].wrapping_add(prediction);
    }
    Ok(())
}

fn paeth(a: u8, b: u8, c: u8) -> u8 {
    let p = i16::from(a) + i16::from(b) - i16::from(c);
    let (pa, pb, pc) = (
        (p - i16::from(a)).abs(),
        (p - i16::from(b)).abs(),
        (p - i16::from(c)).abs(),
    );
    if pa <= pb && pa <= pc {
        a
    } else if pb <= pc {
        b
    } else {
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(predictor: i64, columns: i64) -> Dict {
        let mut params = Dict::default();
        params.set("Predictor", Object::Int(predictor));
        params.set("Columns", Object::Int(columns));
        params
    }

    #[test]
    fn refuses_predictor_rows_wider_than_the_data_or_overflowing() {
        for columns in [i64::MAX, i64::MAX / 8, 1 << 40, 9, 0, -1] {
            let error = unpredict(&params(12, columns), vec![2, 1, 2, 3, 2, 1, 1, 1]).unwrap_err();
            assert!(
                error.contains("bad predictor parameters"),
                "{columns}: {error}"
            );
        }
        let mut huge_colors = params(12, 1);
        huge_colors.set("Colors", Object::Int(i64::MAX));
        assert!(unpredict(&huge_colors, vec![0; 8]).is_err());
    }

    #[test]
    fn undoes_the_png_up_predictor() {
        let data = vec![2, 1, 2, 3, 2, 1, 1, 1];
        assert_eq!(
            unpredict(&params(12, 3), data).unwrap(),
            vec![1, 2, 3, 2, 3, 4]
        );
    }
}
