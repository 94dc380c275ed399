//! Tests of [`super`]: every model of every set edited and compared with the original on a
//! real photo, and the cases the edits leave alone.

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
