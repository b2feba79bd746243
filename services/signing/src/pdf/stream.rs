//! Decoding of the streams the reader needs: cross-reference streams and object streams,
//! which are Flate-compressed, often with a PNG predictor.

use std::io::Read;

use super::object::{Dict, Object};

/// Largest decoded stream accepted, against decompression bombs.
const MAX_DECODED: u64 = 256 << 20;

/// Applies the stream's `/Filter` (none or `/FlateDecode`) and `/DecodeParms` predictor.
pub(crate) fn decode(dict: &Dict, raw: &[u8]) -> Result<Vec<u8>, String> {
    let filters = match dict.get("Filter") {
        None => Vec::new(),
        Some(Object::Name(name)) => vec![name.clone()],
        Some(Object::Array(items)) => items
            .iter()
            .map(|item| match item {
                Object::Name(name) => Ok(name.clone()),
                _ => Err("bad /Filter".to_owned()),
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err("bad /Filter".into()),
    };
    match filters.as_slice() {
        [] => Ok(raw.to_vec()),
        [flate] if flate == b"FlateDecode" => {
            let inflated = inflate(raw)?;
            let params = match dict.get("DecodeParms") {
                Some(Object::Dict(params)) => Some(params),
                Some(Object::Array(items)) => match items.first() {
                    Some(Object::Dict(params)) => Some(params),
                    _ => None,
                },
                _ => None,
            };
            match params {
                Some(params) => unpredict(params, inflated),
                None => Ok(inflated),
            }
        }
        _ => Err("stream filter other than /FlateDecode".into()),
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
    let colors = params.int("Colors").unwrap_or(1);
    let bits = params.int("BitsPerComponent").unwrap_or(8);
    let columns = params.int("Columns").unwrap_or(1);
    let bytes_for = |bits: i64| usize::try_from((bits + 7) / 8).map_err(|_| "bad predictor");
    let pixel = bytes_for(colors.saturating_mul(bits))?;
    let width = bytes_for(colors.saturating_mul(bits).saturating_mul(columns))?;
    if pixel == 0 || width == 0 {
        return Err("bad predictor parameters".into());
    }
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

    #[test]
    fn undoes_the_png_up_predictor() {
        let mut params = Dict::default();
        params.set("Predictor", Object::Int(12));
        params.set("Columns", Object::Int(3));
        let data = vec![2, 1, 2, 3, 2, 1, 1, 1];
        assert_eq!(unpredict(&params, data).unwrap(), vec![1, 2, 3, 2, 3, 4]);
    }
}
