//! The vector index: a hierarchical navigable small-world graph (HNSW, Malkov and Yashunin
//! 2018) over the memories' L2-normalised embeddings, keyed by slot.
//!
//! The graph holds **only links**: the vectors stay in the memories, and every distance is
//! computed through an accessor that returns a slot's vector while the memory lives (`None`
//! once it was forgotten). So the graph is small (at most `2·M` links per point on the bottom
//! layer, `M` above), it is sealed as plain bytes with the rest of the store (no vector ever
//! reaches it, so forgetting a memory removes its vector from everything that is stored), and
//! reloading it at unlock is a copy of arrays, not a rebuild.
//!
//! This replaces `hnsw_rs`, which was measured at 100,000 memories (`bench/memory`): its loader
//! needed a file (so a RAM-backed file system) and 4.9 s; its filtered search kept walking the
//! graph once enough neighbours were found (17–111 ms a query under a filter); and it stored a
//! second copy of every vector.
//!
//! - **Build**: insertion as in the paper (a random level, greedy descent through the upper
//!   layers, a beam search of width `ef_construction` on each layer below, neighbours chosen by
//!   the paper's heuristic, links made both ways and pruned by the same heuristic).
//! - **Filtered search**: the beam walks through every live point but only points the filter
//!   accepts enter the results, and it stops, as the unfiltered search does, when the nearest
//!   unexplored candidate is farther than the farthest of `ef` accepted results. The caller
//!   picks an exact scan instead when the filter lets few memories through.
//! - **Forgotten points** are skipped by every search (their vector is gone) and keep no
//!   influence on results; when more than a quarter of the points are forgotten the store
//!   rebuilds the graph.
//!
//! # Invariants
//!
//! - A search only ever returns live slots its filter accepts.
//! - Every link names a slot below `levels.len()` that has the link's layer (checked when a
//!   sealed graph is decoded, so a damaged graph is an error, never a panic).

use std::cell::RefCell;
use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, HashMap};

use rayon::prelude::*;

use crate::MemoryError;
use crate::dot::dot;

/// Links per point on the upper layers (twice that on the bottom layer).
const M: usize = 16;
/// Links per point on the bottom layer.
const M0: usize = 2 * M;
/// Highest layer a point may get.
const MAX_LEVEL: u8 = 16;
/// Beam width while inserting.
const EF_CONSTRUCTION: usize = 100;
/// Points inserted one by one before groups are searched in parallel.
const SEQUENTIAL_FIRST: usize = 2048;
/// Points whose neighbour searches run in parallel.
const GROUP: usize = 256;
/// No link / no level.
const NONE: u32 = u32::MAX;
/// The sealed graph's format, as recorded in the manifest: anything else (such as a dump of
/// the `hnsw_rs` graph used before) is not loaded, and the graph is rebuilt from the memories.
pub(crate) const FORMAT: &str = "hearth-hnsw-1";
const MAGIC: &[u8; 8] = b"HHNSW\x00\x01\x00";

/// The vector of a live slot, or `None` for a forgotten (or never used) one.
pub(crate) type VectorOf<'a> = dyn Fn(u32) -> Option<&'a [f32]> + Sync + 'a;

fn distance(a: &[f32], b: &[f32]) -> f32 {
    1.0 - dot(a, b)
}

/// A candidate: distance to the query, then slot (so ties order deterministically).
#[derive(Clone, Copy, Debug, PartialEq)]
struct Near(f32, u32);

impl Eq for Near {}

impl PartialOrd for Near {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Near {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0).then(self.1.cmp(&other.1))
    }
}

thread_local! {
    /// Visit marks of this thread's searches: `marks[slot] == stamp` means visited.
    static VISITED: RefCell<(Vec<u32>, u32)> = const { RefCell::new((Vec::new(), 0)) };
}

/// Runs `f` with a fresh visit-mark closure for `n` slots.
fn with_visited<R>(n: usize, f: impl FnOnce(&mut dyn FnMut(u32) -> bool) -> R) -> R {
    VISITED.with(|cell| {
        let mut guard = cell.borrow_mut();
        let (marks, stamp) = &mut *guard;
        if marks.len() < n {
            marks.resize(n, 0);
        }
        *stamp = stamp.wrapping_add(1);
        if *stamp == 0 {
            marks.iter_mut().for_each(|m| *m = 0);
            *stamp = 1;
        }
        let s = *stamp;
        // Returns true the first time a slot is seen.
        let mut first_visit = |slot: u32| {
            let m = &mut marks[slot as usize];
            if *m == s {
                false
            } else {
                *m = s;
                true
            }
        };
        f(&mut first_visit)
    })
}

/// The HNSW graph of the embeddings.
pub(crate) struct VectorIndex {
    /// Level of each slot's point ([`ABSENT`] for slots not in the graph).
    levels: Vec<u8>,
    /// Bottom-layer links, `M0` per slot, `NONE`-padded.
    layer0: Vec<u32>,
    /// Links on layers 1..=level, for the few points above the bottom layer.
    upper: HashMap<u32, Vec<Vec<u32>>>,
    entry: u32,
    max_level: u8,
    points: usize,
    rng: u64,
}

const ABSENT: u8 = u8::MAX;

impl VectorIndex {
    /// An empty graph sized for about `capacity` points.
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            levels: Vec::with_capacity(capacity),
            layer0: Vec::with_capacity(capacity * M0),
            upper: HashMap::new(),
            entry: NONE,
            max_level: 0,
            points: 0,
            rng: 0x2545_f491_4f6c_dd1d,
        }
    }

    /// Number of points, live or forgotten.
    pub(crate) fn points(&self) -> usize {
        self.points
    }

    fn random_level(&mut self) -> u8 {
        // xorshift64*, then the paper's level = ⌊−ln(U)·mL⌋ with mL = 1/ln(M).
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        let r = self.rng.wrapping_mul(0x2545_f491_4f6c_dd1d);
        let u = ((r >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
        let level = (-u.ln() / (M as f64).ln()).floor();
        level.min(f64::from(MAX_LEVEL)) as u8
    }

    fn links(&self, slot: u32, layer: u8) -> &[u32] {
        if layer == 0 {
            let start = slot as usize * M0;
            let list = &self.layer0[start..start + M0];
            let len = list.iter().position(|&s| s == NONE).unwrap_or(M0);
            &list[..len]
        } else {
            self.upper
                .get(&slot)
                .and_then(|l| l.get(layer as usize - 1))
                .map_or(&[], Vec::as_slice)
        }
    }

    fn set_links(&mut self, slot: u32, layer: u8, links: &[u32]) {
        if layer == 0 {
            let start = slot as usize * M0;
            let list = &mut self.layer0[start..start + M0];
            list.fill(NONE);
            list[..links.len().min(M0)].copy_from_slice(&links[..links.len().min(M0)]);
        } else if let Some(l) = self
            .upper
            .get_mut(&slot)
            .and_then(|l| l.get_mut(layer as usize - 1))
        {
            l.clear();
            l.extend_from_slice(links);
        }
    }

    fn grow(&mut self, slot: u32) {
        let n = slot as usize + 1;
        if self.levels.len() < n {
            self.levels.resize(n, ABSENT);
            self.layer0.resize(n * M0, NONE);
        }
    }

    /// Adds points (L2-normalised vectors). `vector_of` gives the vectors of points already in
    /// the graph (and may give the new ones).
    ///
    /// Large batches are inserted on every core: the first [`SEQUENTIAL_FIRST`] points one by
    /// one, then groups of [`GROUP`] whose neighbour searches run in parallel against the graph
    /// as it was before the group, after which the group is linked in order (each point also
    /// considering the group's earlier points, which the searches could not see).
    pub(crate) fn insert_batch<'v>(
        &mut self,
        points: &[(u32, &'v [f32])],
        vector_of: &VectorOf<'v>,
    ) {
        let mut rest = points;
        while let Some((&(slot, v), tail)) = rest.split_first() {
            if self.points >= SEQUENTIAL_FIRST && rest.len() >= GROUP {
                break;
            }
            let level = self.random_level();
            let found = self.neighbours_for(v, level, vector_of);
            self.link(slot, v, level, found, &[], vector_of);
            rest = tail;
        }
        for group in rest.chunks(GROUP) {
            let levels: Vec<u8> = group.iter().map(|_| self.random_level()).collect();
            let this = &*self;
            let found: Vec<Vec<Vec<Near>>> = group
                .par_iter()
                .zip(&levels)
                .map(|(&(_, v), &level)| this.neighbours_for(v, level, vector_of))
                .collect();
            for (i, (found, &level)) in found.into_iter().zip(&levels).enumerate() {
                let (slot, v) = group[i];
                self.link(slot, v, level, found, &group[..i], vector_of);
            }
        }
    }

    /// The search half of an insertion: for each layer from `min(level, max_level)` down to 0,
    /// the `ef_construction` nearest points, nearest first (empty for an empty graph).
    fn neighbours_for<'v>(&self, v: &[f32], level: u8, of: &VectorOf<'v>) -> Vec<Vec<Near>> {
        let Some(ev) = (self.entry != NONE).then(|| of(self.entry)).flatten() else {
            return Vec::new();
        };
        let dist = |s: u32| of(s).map(|sv| distance(v, sv));
        let mut ep = Near(distance(v, ev), self.entry);
        let mut layer = self.max_level;
        while layer > level {
            ep = self.greedy(&dist, ep, layer);
            layer -= 1;
        }
        let mut out = Vec::with_capacity(layer as usize + 1);
        let mut entries = vec![ep];
        loop {
            let found = self.beam(&dist, &entries, EF_CONSTRUCTION, layer, None);
            entries.clone_from(&found);
            out.push(found);
            if layer == 0 {
                return out;
            }
            layer -= 1;
        }
    }

    /// The linking half of an insertion: `found` from [`neighbours_for`](Self::neighbours_for)
    /// (top layer first), plus `peers` inserted since that search.
    fn link<'v>(
        &mut self,
        slot: u32,
        v: &'v [f32],
        level: u8,
        found: Vec<Vec<Near>>,
        peers: &[(u32, &'v [f32])],
        vector_of: &VectorOf<'v>,
    ) {
        self.grow(slot);
        if self.levels[slot as usize] != ABSENT {
            return;
        }
        self.levels[slot as usize] = level;
        if level > 0 {
            self.upper.insert(slot, vec![Vec::new(); level as usize]);
        }
        self.points += 1;
        let of = |s: u32| if s == slot { Some(v) } else { vector_of(s) };
        if found.is_empty() && peers.is_empty() {
            if self.entry == NONE || vector_of(self.entry).is_none() || level > self.max_level {
                self.entry = slot;
                self.max_level = level;
            }
            return;
        }
        let top = found.len().saturating_sub(1) as u8;
        for (i, mut cands) in found.into_iter().enumerate() {
            let layer = top - i as u8;
            // Peers on this layer, which the search could not see.
            for &(p, pv) in peers {
                if self
                    .levels
                    .get(p as usize)
                    .is_some_and(|&l| l != ABSENT && l >= layer)
                {
                    cands.push(Near(distance(v, pv), p));
                }
            }
            cands.sort();
            cands.dedup_by_key(|n| n.1);
            self.connect(slot, layer, &cands, &of);
        }
        if level > self.max_level || self.entry == NONE {
            self.entry = slot;
            self.max_level = level;
        }
    }

    /// Links `slot` on `layer` to the best of `cands` (sorted) and them back to it.
    fn connect<'v>(
        &mut self,
        slot: u32,
        layer: u8,
        cands: &[Near],
        of: &dyn Fn(u32) -> Option<&'v [f32]>,
    ) {
        let cap = if layer == 0 { M0 } else { M };
        let chosen = select(cands, M, of);
        let chosen_slots: Vec<u32> = chosen.iter().map(|n| n.1).collect();
        self.set_links(slot, layer, &chosen_slots);
        for &Near(d, other) in &chosen {
            let mut list: Vec<u32> = self.links(other, layer).to_vec();
            if list.contains(&slot) {
                continue;
            }
            if list.len() < cap {
                list.push(slot);
            } else if let Some(ov) = of(other) {
                // Prune the neighbour's links with the same heuristic.
                let mut pruned: Vec<Near> = list
                    .iter()
                    .filter_map(|&s| of(s).map(|sv| Near(distance(ov, sv), s)))
                    .collect();
                pruned.push(Near(d, slot));
                pruned.sort();
                list = select(&pruned, cap, of).iter().map(|n| n.1).collect();
            }
            self.set_links(other, layer, &list);
        }
    }

    /// Greedy descent on one layer: the nearest point reachable by always improving.
    /// `dist` gives a live point's distance to the query (`None` for a forgotten one).
    fn greedy(&self, dist: &dyn Fn(u32) -> Option<f32>, mut ep: Near, layer: u8) -> Near {
        loop {
            let mut improved = false;
            for &s in self.links(ep.1, layer) {
                if let Some(d) = dist(s)
                    && d < ep.0
                {
                    ep = Near(d, s);
                    improved = true;
                }
            }
            if !improved {
                return ep;
            }
        }
    }

    /// Beam search on one layer from `entries`; returns up to `ef` nearest accepted points,
    /// nearest first. Unaccepted live points are walked through but never returned.
    fn beam(
        &self,
        dist: &dyn Fn(u32) -> Option<f32>,
        entries: &[Near],
        ef: usize,
        layer: u8,
        accept: Option<&dyn Fn(u32) -> bool>,
    ) -> Vec<Near> {
        let ok = |s: u32| accept.is_none_or(|a| a(s));
        with_visited(self.levels.len(), |first_visit| {
            let mut frontier: BinaryHeap<Reverse<Near>> = BinaryHeap::with_capacity(ef * 2);
            let mut best: BinaryHeap<Near> = BinaryHeap::with_capacity(ef + 1);
            for &e in entries {
                if first_visit(e.1) {
                    frontier.push(Reverse(e));
                    if ok(e.1) {
                        best.push(e);
                    }
                }
            }
            while best.len() > ef {
                best.pop();
            }
            while let Some(Reverse(c)) = frontier.pop() {
                if best.len() >= ef && best.peek().is_some_and(|w| c.0 > w.0) {
                    break;
                }
                for &s in self.links(c.1, layer) {
                    if !first_visit(s) {
                        continue;
                    }
                    let Some(d) = dist(s) else { continue };
                    let worst = best.peek().map_or(f32::INFINITY, |w| w.0);
                    if best.len() < ef || d < worst {
                        frontier.push(Reverse(Near(d, s)));
                        if ok(s) {
                            best.push(Near(d, s));
                            if best.len() > ef {
                                best.pop();
                            }
                        }
                    }
                }
            }
            best.into_sorted_vec()
        })
    }

    /// The `k` nearest live points that `accept` lets through, nearest first, as (slot,
    /// distance), where `dist` gives a live point's distance to the query (`None` for a
    /// forgotten one): exact, or from the 8-bit codes, which the caller then re-ranks.
    pub(crate) fn search(
        &self,
        dist: &dyn Fn(u32) -> Option<f32>,
        k: usize,
        ef: usize,
        accept: &dyn Fn(u32) -> bool,
    ) -> Vec<(u32, f32)> {
        if self.points == 0 || k == 0 || self.entry == NONE {
            return Vec::new();
        }
        let Some(d) = dist(self.entry) else {
            return Vec::new();
        };
        let mut ep = Near(d, self.entry);
        let mut layer = self.max_level;
        while layer > 0 {
            ep = self.greedy(dist, ep, layer);
            layer -= 1;
        }
        self.beam(dist, &[ep], ef.max(k), 0, Some(accept))
            .into_iter()
            .take(k)
            .map(|Near(d, s)| (s, d))
            .collect()
    }

    /// After `slot` was forgotten: if it was the entry point, a live point of the highest level
    /// becomes the entry.
    pub(crate) fn forgotten(&mut self, slot: u32, live: &dyn Fn(u32) -> bool) {
        if slot != self.entry {
            return;
        }
        let best = self
            .upper
            .iter()
            .filter(|(s, _)| live(**s))
            .map(|(s, l)| (l.len(), Reverse(*s)))
            .max();
        let (entry, level) = match best {
            Some((level, Reverse(s))) => (s, level as u8),
            None => (0..self.levels.len() as u32)
                .find(|&s| self.levels[s as usize] != ABSENT && live(s))
                .map_or((NONE, 0), |s| (s, 0)),
        };
        self.entry = entry;
        self.max_level = level;
    }

    /// The graph as bytes (links only), for sealing.
    pub(crate) fn encode(&self) -> Vec<u8> {
        let n = self.levels.len();
        let mut out = Vec::with_capacity(32 + n + self.layer0.len() * 4);
        out.extend_from_slice(MAGIC);
        for v in [
            n as u64,
            self.points as u64,
            u64::from(self.entry),
            u64::from(self.max_level),
        ] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&self.levels);
        for &s in &self.layer0 {
            out.extend_from_slice(&s.to_le_bytes());
        }
        let mut uppers: Vec<(&u32, &Vec<Vec<u32>>)> = self.upper.iter().collect();
        uppers.sort_by_key(|(s, _)| **s);
        out.extend_from_slice(&(uppers.len() as u64).to_le_bytes());
        for (slot, layers) in uppers {
            out.extend_from_slice(&slot.to_le_bytes());
            for l in layers {
                out.extend_from_slice(&(l.len() as u32).to_le_bytes());
                for s in l {
                    out.extend_from_slice(&s.to_le_bytes());
                }
            }
        }
        out
    }

    /// A graph from [`encode`](Self::encode)'s bytes, checked link by link.
    pub(crate) fn decode(bytes: &[u8]) -> Result<Self, MemoryError> {
        let bad = |what: &str| MemoryError::Vectors(format!("vector graph: {what}"));
        let mut r = Reader { bytes, at: 0 };
        if r.take(MAGIC.len()).ok_or_else(|| bad("truncated"))? != MAGIC {
            return Err(bad("not a graph of this version"));
        }
        let mut word = || r.u64().ok_or_else(|| bad("truncated"));
        let (n, points, entry, max_level) = (word()?, word()?, word()?, word()?);
        let n = usize::try_from(n).map_err(|_| bad("size"))?;
        let levels = r.take(n).ok_or_else(|| bad("truncated levels"))?.to_vec();
        let raw = r
            .take(n.checked_mul(M0 * 4).ok_or_else(|| bad("size"))?)
            .ok_or_else(|| bad("truncated links"))?;
        let layer0: Vec<u32> = raw
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        let n_upper = r.u64().ok_or_else(|| bad("truncated"))?;
        let mut upper = HashMap::new();
        for _ in 0..n_upper {
            let slot = r.u32().ok_or_else(|| bad("truncated upper layers"))?;
            let level = *levels.get(slot as usize).ok_or_else(|| bad("upper slot"))?;
            if level == ABSENT || level == 0 || level > MAX_LEVEL {
                return Err(bad("upper slot level"));
            }
            let mut layers = Vec::with_capacity(level as usize);
            for _ in 0..level {
                let len = r.u32().ok_or_else(|| bad("truncated upper layers"))? as usize;
                if len > M {
                    return Err(bad("too many links"));
                }
                let mut l = Vec::with_capacity(len);
                for _ in 0..len {
                    l.push(r.u32().ok_or_else(|| bad("truncated upper layers"))?);
                }
                layers.push(l);
            }
            upper.insert(slot, layers);
        }
        if r.at != bytes.len() {
            return Err(bad("trailing bytes"));
        }
        let entry = u32::try_from(entry).map_err(|_| bad("entry"))?;
        let max_level = u8::try_from(max_level).map_err(|_| bad("max level"))?;
        let has = |s: u32, layer: usize| {
            levels
                .get(s as usize)
                .is_some_and(|&l| l != ABSENT && l as usize >= layer)
        };
        let links_ok = layer0
            .chunks_exact(M0)
            .all(|l| l.iter().all(|&s| s == NONE || has(s, 0)))
            && upper.values().all(|layers| {
                layers
                    .iter()
                    .enumerate()
                    .all(|(i, l)| l.iter().all(|&s| has(s, i + 1)))
            });
        let entry_ok = if entry == NONE {
            points == 0 || levels.iter().all(|&l| l == ABSENT)
        } else {
            has(entry, max_level as usize)
        };
        let counted = levels.iter().filter(|&&l| l != ABSENT).count() as u64;
        if !links_ok || !entry_ok || counted != points {
            return Err(bad("inconsistent links"));
        }
        Ok(Self {
            levels,
            layer0,
            upper,
            entry,
            max_level,
            points: points as usize,
            rng: 0x2545_f491_4f6c_dd1d ^ points,
        })
    }
}

/// The paper's neighbour-selection heuristic (its algorithm 4, without extension): take
/// candidates nearest first, keeping one only if it is nearer to the base than to every one
/// kept so far; then fill up with the nearest skipped ones so a point keeps `m` links.
fn select<'v>(sorted: &[Near], m: usize, of: &dyn Fn(u32) -> Option<&'v [f32]>) -> Vec<Near> {
    let mut kept: Vec<(Near, &'v [f32])> = Vec::with_capacity(m);
    let mut skipped = Vec::new();
    for &c in sorted {
        if kept.len() >= m {
            break;
        }
        let Some(cv) = of(c.1) else { continue };
        if kept.iter().all(|(_, kv)| distance(cv, kv) > c.0) {
            kept.push((c, cv));
        } else {
            skipped.push(c);
        }
    }
    let mut out: Vec<Near> = kept.into_iter().map(|(n, _)| n).collect();
    for c in skipped {
        if out.len() >= m {
            break;
        }
        out.push(c);
    }
    out
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.at.checked_add(n)?;
        let s = self.bytes.get(self.at..end)?;
        self.at = end;
        Some(s)
    }
    fn u64(&mut self) -> Option<u64> {
        self.take(8)
            .map(|b| u64::from_le_bytes(b.try_into().unwrap_or([0; 8])))
    }
    fn u32(&mut self) -> Option<u32> {
        self.take(4)
            .map(|b| u32::from_le_bytes(b.try_into().unwrap_or([0; 4])))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(seed: u64, dim: usize) -> Vec<f32> {
        let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let mut v: Vec<f32> = (0..dim)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x % 2000) as f32 / 1000.0 - 1.0
            })
            .collect();
        let n = v.iter().map(|a| a * a).sum::<f32>().sqrt();
        v.iter_mut().for_each(|a| *a /= n);
        v
    }

    fn exact(
        vs: &[Option<Vec<f32>>],
        q: &[f32],
        k: usize,
        accept: &dyn Fn(u32) -> bool,
    ) -> Vec<u32> {
        let mut all: Vec<Near> = vs
            .iter()
            .enumerate()
            .filter_map(|(s, v)| Some(Near(distance(q, v.as_ref()?), s as u32)))
            .filter(|n| accept(n.1))
            .collect();
        all.sort();
        all.into_iter().take(k).map(|n| n.1).collect()
    }

    #[test]
    fn finds_nearly_all_true_neighbours_with_and_without_filters() {
        let dim = 32;
        let mut vs: Vec<Option<Vec<f32>>> = (0..3000).map(|i| Some(unit(i, dim))).collect();
        let mut index = VectorIndex::new(0);
        {
            let of = |s: u32| vs.get(s as usize)?.as_deref();
            let pts: Vec<(u32, &[f32])> = vs
                .iter()
                .enumerate()
                .map(|(s, v)| (s as u32, v.as_deref().unwrap_or(&[])))
                .collect();
            index.insert_batch(&pts, &of);
        }
        // Forget a tenth, including the entry point.
        let entry = index.entry;
        for s in (0..3000).step_by(10).chain([entry]) {
            vs[s as usize] = None;
            let live = |s: u32| vs[s as usize].is_some();
            index.forgotten(s, &live);
        }
        let of = |s: u32| vs.get(s as usize)?.as_deref();
        let mut hits = 0;
        let mut total = 0;
        for f in [0u32, 3, 7] {
            let accept = move |s: u32| f == 0 || s % f == 1;
            for qi in 0..30 {
                let q = unit(10_000 + qi, dim);
                let got = index.search(&|s| of(s).map(|v| distance(&q, v)), 10, 64, &accept);
                assert!(
                    got.iter()
                        .all(|(s, _)| vs[*s as usize].is_some() && accept(*s))
                );
                let want = exact(&vs, &q, 10, &accept);
                hits += want
                    .iter()
                    .filter(|w| got.iter().any(|g| g.0 == **w))
                    .count();
                total += want.len();
            }
        }
        let recall = hits as f64 / total as f64;
        assert!(recall > 0.9, "recall {recall}");

        // The sealed bytes round-trip, and damage is an error.
        let bytes = index.encode();
        let again = VectorIndex::decode(&bytes).unwrap();
        let q = unit(77, dim);
        assert_eq!(
            again.search(&|s| of(s).map(|v| distance(&q, v)), 10, 64, &|_| true),
            index.search(&|s| of(s).map(|v| distance(&q, v)), 10, 64, &|_| true)
        );
        assert!(VectorIndex::decode(&bytes[..bytes.len() - 1]).is_err());
        let mut bad = bytes.clone();
        let at = MAGIC.len() + 32 + 3000 + 8; // a bottom-layer link
        bad[at..at + 4].copy_from_slice(&5000u32.to_le_bytes());
        assert!(VectorIndex::decode(&bad).is_err());
    }

    #[test]
    fn empty_and_tiny_graphs() {
        let index = VectorIndex::new(4);
        let of = |_: u32| -> Option<&[f32]> { None };
        assert!(
            index
                .search(&|s| of(s).map(|v| distance(&[1.0, 0.0], v)), 3, 10, &|_| {
                    true
                })
                .is_empty()
        );
        let decoded = VectorIndex::decode(&index.encode()).unwrap();
        assert_eq!(decoded.points(), 0);
        let v = [vec![1.0f32, 0.0], vec![0.0, 1.0]];
        let of = |s: u32| v.get(s as usize).map(Vec::as_slice);
        let mut index = VectorIndex::new(0);
        index.insert_batch(&[(0, &v[0]), (1, &v[1])], &of);
        let got = index.search(&|s| of(s).map(|v| distance(&[1.0, 0.0], v)), 5, 10, &|_| {
            true
        });
        assert_eq!(got.iter().map(|g| g.0).collect::<Vec<_>>(), vec![0, 1]);
        assert!(got[0].1.abs() < 1e-6);
    }
}
