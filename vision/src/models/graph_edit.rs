//! The edits hadir makes to a model's graph before ONNX Runtime sees it: constants that pose
//! as inputs made constants, and PReLU in vectorised operators. Neither changes what the model
//! computes for the one input hadir feeds it.
//!
//! **Initializers listed as graph inputs.** Models exported for ONNX IR 3 list every weight
//! among the graph's inputs too (OpenCV's SFace does), which tells ONNX Runtime that a caller
//! may replace them at each run: it then folds none of them (no BatchNorm fused into its
//! convolution) and warns once per weight. hadir feeds a model its first input only, so from
//! IR 4 on (where weights need not be listed) such inputs are taken out of the list. SFace,
//! one thread (ONNX Runtime 1.31.1 through its Python API, on the same file): 27.7 → 23.0 ms per
//! face with this alone, 15.5 ms with the PReLU rewrite too.
//!
//! ONNX Runtime 1.31's CPU `PRelu` kernel is a scalar loop with a branch per value (a `perf`
//! profile of the server at 32 cameras put about a tenth of all of its CPU there), while its
//! `Mul` and `Max` kernels are vectorised. A PReLU whose slopes `s` (one per channel) are all
//! at most 1 is therefore rewritten as `Max(x, s·x)`: for `x < 0`, `s·x ≥ x`; for `x > 0`,
//! `s·x ≤ x`; so the values are the same, in two vectorised passes.
//!
//! A PReLU with a slope above 1 (MTCNN's P-net and R-net have one each, fr_feature one, SFace two) is
//! left as it is: `Max` would be wrong there, and the exact form in vectorised operators,
//! `s·x + (1 − s)·Relu(x)`, takes four passes over memory, which cost more than the scalar
//! loop on P-net's first feature maps (`--bench pipeline`, 1 face at 20 px: 150 → 160 ms) and
//! gained nothing measurable elsewhere.
//!
//! Measured with `--bench pipeline` (1080p frames, one thread, ONNX Runtime 1.31.1, a Xeon
//! with AVX-512, 2026-12-04, the same build with and without the edit, twice each): the
//! default set's time in ONNX Runtime 152–154 → 149–152 ms for one face, 233 → 213–217 ms for
//! three, 117 → 102 ms for three faces of 40 px and up. Outputs equal the original's.
//!
//! Only the model's main graph is edited, and only PReLUs whose slope is a float initializer
//! that no graph input can override (after the first edit). Every other byte of the model (the fields this crate's
//! ONNX schema does not know included) is kept.

use std::collections::HashSet;

/// The environment variable that turns the edits off (`off`): every model then loads as
/// published, to compare, or where an operator's own model meets a case these edits get wrong.
pub const SWITCH: &str = "HADIR_GRAPH_EDITS";

/// Whether the edits are made ([`SWITCH`] is not `off`).
pub fn enabled() -> bool {
    std::env::var(SWITCH).map_or(true, |v| !v.trim().eq_ignore_ascii_case("off"))
}

use onnx_protobuf::{GraphProto, Message, ModelProto, NodeProto, TensorProto, tensor_proto};

/// A model after [`prepare`].
#[derive(Debug)]
pub struct Edited {
    /// The model's bytes after the edit.
    pub bytes: Vec<u8>,
    /// What was rewritten and what was not.
    pub counts: Counts,
}

/// What [`prepare`] did to a model.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Initializers taken out of the graph's inputs.
    pub constants: usize,
    /// PReLUs rewritten as `Max(x, s·x)`.
    pub rewritten: usize,
    /// PReLUs left as they were: a slope above 1, or not a constant this edit can read.
    pub kept: usize,
}

/// The model in `bytes` (an ONNX `ModelProto`) with both edits of the module's documentation
/// made. An error says why the bytes are not a model.
pub fn prepare(bytes: &[u8]) -> Result<Edited, String> {
    let mut model = ModelProto::parse_from_bytes(bytes)
        .map_err(|e| format!("not an ONNX model (protobuf: {e})"))?;
    let Some(graph) = model.graph.as_mut() else {
        return Err("the model has no graph".to_owned());
    };
    let constants = if model.ir_version >= 4 {
        constants_out_of_inputs(graph)
    } else {
        0
    };
    let counts = Counts {
        constants,
        ..vectorise_prelu(graph)
    };
    if counts.rewritten + counts.constants == 0 {
        return Ok(Edited {
            bytes: bytes.to_vec(),
            counts,
        });
    }
    let bytes = model
        .write_to_bytes()
        .map_err(|e| format!("the edited model cannot be written (protobuf: {e})"))?;
    Ok(Edited { bytes, counts })
}

/// Takes the initializers out of the graph's inputs; returns how many there were.
fn constants_out_of_inputs(graph: &mut GraphProto) -> usize {
    let initializers: HashSet<&str> = graph.initializer.iter().map(|t| t.name.as_str()).collect();
    let before = graph.input.len();
    graph
        .input
        .retain(|i| !initializers.contains(i.name.as_str()));
    before - graph.input.len()
}

/// Rewrites the PReLUs whose slopes are all at most 1 (`constants` is left at 0).
fn vectorise_prelu(graph: &mut GraphProto) -> Counts {
    let mut names = Names::of(graph);
    let overridable: HashSet<String> = graph.input.iter().map(|i| i.name.clone()).collect();
    let mut counts = Counts::default();
    let mut nodes = Vec::with_capacity(graph.node.len());
    for node in std::mem::take(&mut graph.node) {
        if node.op_type != "PRelu" || !node.domain.is_empty() {
            nodes.push(node);
            continue;
        }
        let constant = match (node.input.as_slice(), node.output.as_slice()) {
            ([_, slope], [_]) if !overridable.contains(slope) => graph
                .initializer
                .iter()
                .find(|t| &t.name == slope)
                .and_then(float_values),
            _ => None,
        };
        if !constant.is_some_and(|slope| slope.iter().all(|&v| v <= 1.0)) {
            counts.kept += 1;
            nodes.push(node);
            continue;
        }
        let (x, s, y) = (&node.input[0], &node.input[1], &node.output[0]);
        let scaled = names.fresh(&format!("{y}/hadir_prelu_scaled"));
        nodes.push(op(&node, "Mul", &[x, s], &scaled));
        nodes.push(op(&node, "Max", &[x, &scaled], y));
        counts.rewritten += 1;
    }
    graph.node = nodes;
    counts
}

/// One node of the rewrite, named after the PReLU it replaces.
fn op(prelu: &NodeProto, op_type: &str, inputs: &[&String], output: &str) -> NodeProto {
    let mut node = NodeProto::new();
    node.op_type = op_type.to_owned();
    node.name = format!("{}/hadir_{}_{output}", prelu.name, op_type.to_lowercase());
    node.input = inputs.iter().map(|s| (*s).clone()).collect();
    node.output = vec![output.to_owned()];
    node
}

/// The values of a float tensor held in the model (not in an external file).
fn float_values(tensor: &TensorProto) -> Option<Vec<f32>> {
    if tensor.data_type != tensor_proto::DataType::FLOAT as i32 || !tensor.external_data.is_empty()
    {
        return None;
    }
    let count = tensor
        .dims
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(usize::try_from(d).ok()?))?;
    let values: Vec<f32> = if !tensor.raw_data.is_empty() {
        tensor
            .raw_data
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect()
    } else {
        tensor.float_data.clone()
    };
    (values.len() == count && count > 0).then_some(values)
}

/// Every value name the graph uses, so that the rewrite's new names collide with none.
struct Names(HashSet<String>);

impl Names {
    fn of(graph: &GraphProto) -> Self {
        let mut names = HashSet::new();
        for node in &graph.node {
            names.extend(node.input.iter().cloned());
            names.extend(node.output.iter().cloned());
        }
        names.extend(graph.initializer.iter().map(|t| t.name.clone()));
        names.extend(graph.input.iter().map(|v| v.name.clone()));
        names.extend(graph.output.iter().map(|v| v.name.clone()));
        Self(names)
    }

    fn fresh(&mut self, wanted: &str) -> String {
        let mut name = wanted.to_owned();
        let mut n = 1;
        while self.0.contains(&name) {
            n += 1;
            name = format!("{wanted}_{n}");
        }
        self.0.insert(name.clone());
        name
    }
}

#[cfg(test)]
#[path = "graph_edit_tests.rs"]
mod tests;
