//! The edits hadir makes to a model's graph before ONNX Runtime sees it: constants that pose
//! as inputs made constants, and PReLU in vectorised operators. Neither changes what the model
//! computes for the one input hadir feeds it.
//!
//! **Initializers listed as graph inputs.** Models exported for ONNX IR 3 list every weight
//! among the graph's inputs too (OpenCV's SFace does), which tells ONNX Runtime that a caller
//! may replace them at each run: it then folds none of them (no BatchNorm fused into its
//! convolution) and warns once per weight. hadir feeds a model its first input only, so from
//! IR 4 on (where weights need not be listed) such inputs are taken out of the list. SFace,
//! one thread: 27.7 → 23.0 ms per face with this alone, 15.5 ms with the PReLU rewrite too.
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
mod tests {
    use onnx_protobuf::{TypeProto, ValueInfoProto, type_proto};

    use super::*;
    use crate::{
        frame::RgbF32,
        models::{
            manifest::Manifest,
            run,
            runtime::{GraphRewrite, Runtime, cache_dir},
        },
        pipeline::load_image,
    };

    /// A real photo as the input a model of `shape` takes: resized, (x − 127.5)/128, in NHWC
    /// (MTCNN's nets, 3 last) or NCHW (the embedders, 3 second); batches repeat it shifted.
    fn photo_input(shape: &[usize]) -> Vec<f32> {
        let photo = load_image(&cache_dir().join("photos/obama.jpg"))
            .unwrap_or_else(|e| panic!("{e}; fetch it with `python3 models/fetch.py`"));
        let nhwc = shape[3] == 3;
        let (h, w) = if nhwc {
            (shape[1], shape[2])
        } else {
            (shape[2], shape[3])
        };
        let image: RgbF32 = photo.resize(w, h);
        let mut input = Vec::with_capacity(shape.iter().product());
        for n in 0..shape[0] {
            let shifted = |v: f32| ((v + 7.0 * n as f32) % 256.0 - 127.5) / 128.0;
            if nhwc {
                input.extend(image.data.iter().map(|&v| shifted(v)));
            } else {
                for c in 0..3 {
                    input.extend(image.data.iter().skip(c).step_by(3).map(|&v| shifted(v)));
                }
            }
        }
        input
    }

    fn outputs(
        runtime: &Runtime,
        name: &str,
        bytes: &[u8],
        rewrite: GraphRewrite,
        shape: &[usize],
        input: &[f32],
    ) -> Vec<Vec<f32>> {
        let mut session = runtime
            .commit(name, std::path::Path::new(name), bytes, 1, rewrite)
            .unwrap_or_else(|e| panic!("{e}"));
        run(&mut session, name, shape, input, |outputs| {
            Ok(outputs.iter().map(|o| o.values.to_vec()).collect())
        })
        .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Every model of both configurations, edited, gives the original's outputs on a real
    /// photo (within float rounding), at the graph rewrite level hadir runs it with.
    #[test]
    fn edited_models_agree_with_the_originals() {
        let runtime = Runtime::load_default().unwrap_or_else(|e| panic!("{e}"));
        let manifest = Manifest::builtin();
        let cases: [(&str, &[usize], GraphRewrite, Counts); 7] = [
            (
                "mtcnn-pnet",
                &[1, 135, 240, 3],
                GraphRewrite::WithoutLayouts,
                counts(2, 1),
            ),
            (
                "mtcnn-rnet",
                &[8, 24, 24, 3],
                GraphRewrite::WithoutLayouts,
                counts(3, 1),
            ),
            (
                "mtcnn-onet",
                &[4, 48, 48, 3],
                GraphRewrite::WithoutLayouts,
                counts(5, 0),
            ),
            (
                "fr-feature",
                &[1, 3, 112, 112],
                GraphRewrite::WithoutLayouts,
                counts(32, 1),
            ),
            (
                "arcface-mbf",
                &[1, 3, 112, 112],
                GraphRewrite::All,
                counts(34, 0),
            ),
            (
                "sface",
                &[1, 3, 112, 112],
                GraphRewrite::All,
                Counts {
                    constants: 174,
                    rewritten: 25,
                    kept: 2,
                },
            ),
            (
                "scrfd-500m",
                &[1, 3, 160, 160],
                GraphRewrite::All,
                counts(0, 0),
            ),
        ];
        for (name, shape, rewrite, expected) in cases {
            let path = manifest
                .verified_path(&cache_dir(), name)
                .unwrap_or_else(|e| panic!("{e}; fetch it with `python3 models/fetch.py`"));
            let original = std::fs::read(&path).unwrap_or_else(|e| panic!("{e}"));
            let edited = prepare(&original).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(edited.counts, expected, "{name}");
            if expected.rewritten + expected.constants == 0 {
                assert_eq!(
                    edited.bytes, original,
                    "{name}: nothing to edit, nothing changed"
                );
            }
            let input = photo_input(shape);
            let want = outputs(&runtime, name, &original, rewrite, shape, &input);
            let got = outputs(&runtime, name, &edited.bytes, rewrite, shape, &input);
            assert_eq!(want.len(), got.len(), "{name}");
            for (w, g) in want.iter().zip(&got) {
                assert_eq!(w.len(), g.len(), "{name}");
                let scale = w.iter().fold(1e-3f32, |m, v| m.max(v.abs()));
                let worst = w.iter().zip(g).fold(0f32, |m, (a, b)| m.max((a - b).abs()));
                assert!(
                    worst <= 1e-5 * scale,
                    "{name}: the edited model is off by {worst} (outputs up to {scale})"
                );
            }
        }
    }

    fn counts(rewritten: usize, kept: usize) -> Counts {
        Counts {
            constants: 0,
            rewritten,
            kept,
        }
    }

    fn float_input(name: &str, dims: &[i64]) -> ValueInfoProto {
        let mut tensor = type_proto::Tensor::new();
        tensor.elem_type = tensor_proto::DataType::FLOAT as i32;
        let mut shape = onnx_protobuf::TensorShapeProto::new();
        for &d in dims {
            let mut dim = onnx_protobuf::tensor_shape_proto::Dimension::new();
            dim.set_dim_value(d);
            shape.dim.push(dim);
        }
        tensor.shape = Some(shape).into();
        let mut value_type = TypeProto::new();
        value_type.set_tensor_type(tensor);
        let mut info = ValueInfoProto::new();
        info.name = name.to_owned();
        info.type_ = Some(value_type).into();
        info
    }

    /// A PReLU whose slope is a graph input (it may change per run) is left alone; so are one
    /// whose slope is an integer tensor and one with a slope above 1.
    #[test]
    fn slopes_that_are_not_float_constants_at_most_1_are_kept() {
        let mut graph = GraphProto::new();
        graph.input.push(float_input("x", &[1, 2, 2, 2]));
        graph.input.push(float_input("s", &[1, 2, 1, 1]));
        graph.output.push(float_input("w", &[1, 2, 2, 2]));
        let mut ints = TensorProto::new();
        ints.name = "k".to_owned();
        ints.dims = vec![1];
        ints.data_type = tensor_proto::DataType::INT32 as i32;
        ints.int32_data = vec![1];
        graph.initializer.push(ints);
        let mut steep = TensorProto::new();
        steep.name = "steep".to_owned();
        steep.dims = vec![1, 2, 1, 1];
        steep.data_type = tensor_proto::DataType::FLOAT as i32;
        steep.float_data = vec![0.25, 1.5];
        graph.initializer.push(steep);
        let mut first = NodeProto::new();
        first.op_type = "PRelu".to_owned();
        first.input = vec!["x".to_owned(), "s".to_owned()];
        first.output = vec!["y".to_owned()];
        let mut second = first.clone();
        second.input = vec!["y".to_owned(), "k".to_owned()];
        second.output = vec!["z".to_owned()];
        let mut third = first.clone();
        third.input = vec!["z".to_owned(), "steep".to_owned()];
        third.output = vec!["w".to_owned()];
        graph.node = vec![first, second, third];
        let mut model = ModelProto::new();
        model.ir_version = 7;
        model.graph = Some(graph).into();
        let bytes = model.write_to_bytes().unwrap_or_else(|e| panic!("{e}"));
        let edited = prepare(&bytes).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            edited.counts,
            Counts {
                constants: 0,
                rewritten: 0,
                kept: 3
            }
        );
        assert_eq!(edited.bytes, bytes);
    }

    /// A model of one PReLU whose slope is an initializer listed among the inputs too, at IR
    /// version `ir`.
    fn listed_slope_model(ir: i64) -> Vec<u8> {
        let mut graph = GraphProto::new();
        graph.input.push(float_input("x", &[1, 2, 2, 2]));
        graph.input.push(float_input("s", &[1, 2, 1, 1]));
        graph.output.push(float_input("y", &[1, 2, 2, 2]));
        let mut slope = TensorProto::new();
        slope.name = "s".to_owned();
        slope.dims = vec![1, 2, 1, 1];
        slope.data_type = tensor_proto::DataType::FLOAT as i32;
        slope.float_data = vec![0.25, 0.5];
        graph.initializer.push(slope);
        let mut prelu = NodeProto::new();
        prelu.op_type = "PRelu".to_owned();
        prelu.input = vec!["x".to_owned(), "s".to_owned()];
        prelu.output = vec!["y".to_owned()];
        graph.node = vec![prelu];
        let mut model = ModelProto::new();
        model.ir_version = ir;
        model.graph = Some(graph).into();
        model.write_to_bytes().unwrap_or_else(|e| panic!("{e}"))
    }

    /// From IR 4 on an initializer listed as an input is taken out of the inputs, and the
    /// PReLU it is the slope of is then rewritten; before IR 4 (where weights must be listed)
    /// both stay.
    #[test]
    fn initializers_listed_as_inputs_become_constants_from_ir_4() {
        let edited = prepare(&listed_slope_model(7)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            edited.counts,
            Counts {
                constants: 1,
                rewritten: 1,
                kept: 0
            }
        );
        let model = ModelProto::parse_from_bytes(&edited.bytes).unwrap_or_else(|e| panic!("{e}"));
        let graph = model.graph.as_ref().unwrap_or_else(|| panic!("a graph"));
        let inputs: Vec<&str> = graph.input.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(inputs, ["x"]);
        let ops: Vec<&str> = graph.node.iter().map(|n| n.op_type.as_str()).collect();
        assert_eq!(ops, ["Mul", "Max"]);

        let old = listed_slope_model(3);
        let edited = prepare(&old).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(edited.counts, counts(0, 1));
        assert_eq!(edited.bytes, old);
    }

    #[test]
    fn bytes_that_are_no_model_are_an_error() {
        let error = prepare(b"\xff\xff\xff\xff not protobuf").unwrap_err();
        assert!(error.contains("not an ONNX model"), "{error}");
        let empty = ModelProto::new()
            .write_to_bytes()
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(prepare(&empty).unwrap_err(), "the model has no graph");
    }
}
