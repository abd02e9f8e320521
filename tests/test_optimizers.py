"""skoptnn.engine.optimizers against Keras' own optimizers, step by step."""

import inspect

import numpy as np
import pytest
from keras_reference import OPTIMIZERS as KERAS_CLASSES

from skoptnn.engine import optimizers as opt
from skoptnn.engine.runtime import keras, tf

# Every expectation below is written out literally (the Keras class in
# keras_reference.OPTIMIZERS), never read from skoptnn's own table.
NAMES = ["adam", "adamw", "nadam", "rmsprop", "sgd", "adagrad", "adadelta"]
# Keras' default learning rates.
DEFAULT_LEARNING_RATES = {"adam": 0.001, "adamw": 0.001, "nadam": 0.001, "rmsprop": 0.001,
                          "sgd": 0.01, "adagrad": 0.001, "adadelta": 0.001}
# Keras' defaults of the hyper-parameters the update rules hard-code.
KERAS_DEFAULTS = {
    "adam": {"beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7},
    "adamw": {"beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7, "weight_decay": 0.004},
    "nadam": {"beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7},
    "rmsprop": {"rho": 0.9, "epsilon": 1e-7},
    "sgd": {},
    "adagrad": {"epsilon": 1e-7, "initial_accumulator_value": 0.1},
    "adadelta": {"rho": 0.95, "epsilon": 1e-7},
}
# The slot variables Keras creates per model variable, in order, and its global scalars.
KERAS_SLOTS = {
    "adam": ("momentum", "velocity"), "adamw": ("momentum", "velocity"),
    "nadam": ("momentum", "velocity"), "rmsprop": ("velocity",), "sgd": (),
    "adagrad": ("accumulator",), "adadelta": ("accumulated_grad", "accumulated_delta_var"),
}
# Nadam's u_product (a float32 scalar Keras leaves unnamed).
KERAS_GLOBALS = {"nadam": 1}
STEPS = 20
# A kernel, a bias, a stack of 3 kernels and a stack of 3 biases.
SHAPES = [(4, 3), (3,), (3, 5, 5), (3, 5)]
STACKED = [False, False, True, True]
CLIPNORM, CLIPVALUE = 1.0, 0.5
THRESHOLD = {None: 0.0, "norm": CLIPNORM, "value": CLIPVALUE}
# The others run with Keras' default learning rate.
LEARNING_RATES = {"adam": 0.01, "nadam": 0.02, "sgd": 0.05, "adadelta": 0.5}
RTOL, ATOL = 1e-5, 1e-6


def _data(seed=0):
    rng = np.random.default_rng(seed)
    params = [rng.normal(size=s).astype(np.float32) for s in SHAPES]
    grads = []
    for _ in range(STEPS):
        step = []
        for shape, stacked in zip(SHAPES, STACKED, strict=True):
            # One scale per Keras variable, from 1e-5 (where epsilon's placement
            # matters) to 10 (norms well above CLIPNORM).
            n = shape[0] if stacked else 1
            scale = 10.0 ** rng.uniform(-5, 1, size=(n,) + (1,) * (len(shape) - 1))
            g = rng.normal(size=shape) * (scale if stacked else scale.reshape(()))
            step.append(g.astype(np.float32))
        grads.append(step)
    return params, grads


def _unstack(arrays):
    """One array per Keras variable: stacked arrays split along axis 0."""
    out = []
    for a, stacked in zip(arrays, STACKED, strict=True):
        out.extend(list(np.asarray(a)) if stacked else [np.asarray(a)])
    return out


def _unstack_state(state):
    return opt.OptimizerState(
        np.int64(state.step),
        tuple(tuple(_unstack(slot)) for slot in state.slots),
        tuple(np.asarray(x) for x in state.extra),
    )


def _assert_state_close(ours, keras_state, what):
    assert int(ours.step) == int(keras_state.step), what
    assert len(ours.slots) == len(keras_state.slots), what
    for k, (a, b) in enumerate(zip(ours.slots, keras_state.slots, strict=True)):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            np.testing.assert_allclose(x, y, RTOL, ATOL, err_msg=f"{what}: slot {k}, var {i}")
    for x, y in zip(ours.extra, keras_state.extra, strict=True):
        np.testing.assert_allclose(x, y, RTOL, ATOL, err_msg=f"{what}: extra")


def _keras_optimizer(name, clip):
    kwargs = {"norm": {"clipnorm": CLIPNORM}, "value": {"clipvalue": CLIPVALUE}, None: {}}[clip]
    if name in LEARNING_RATES:
        kwargs["learning_rate"] = LEARNING_RATES[name]
    return KERAS_CLASSES[name](**kwargs)


def _run_keras(name, clip, params, grads):
    """Keras' params and state (one entry per Keras variable) after each step."""
    optimizer = _keras_optimizer(name, clip)
    variables = [keras.Variable(p) for p in _unstack(params)]
    optimizer.build(variables)
    history = []
    for g in grads:
        optimizer.apply(_unstack(g), variables)
        history.append(([v.numpy() for v in variables], opt.from_keras(optimizer, name)))
    return history


def _learning_rate(name):
    return np.float32(LEARNING_RATES.get(name, DEFAULT_LEARNING_RATES[name]))


@pytest.fixture(scope="module")
def data():
    return _data()


@pytest.fixture(scope="module")
def keras_runs(data):
    params, grads = data
    return {
        (name, clip): _run_keras(name, clip, params, grads)
        for name in NAMES
        for clip in (None, "norm", "value")
    }


def test_data_makes_clipnorm_clip_some_slices_but_not_all(data):
    norms = [np.linalg.norm(g.reshape(-1)) for step in data[1] for g in _unstack(step)]
    clipped = sum(n > CLIPNORM for n in norms)
    assert 0.1 * len(norms) < clipped < 0.9 * len(norms)


@pytest.mark.parametrize("clip", [None, "norm", "value"])
@pytest.mark.parametrize("name", NAMES)
def test_eager_steps_match_keras(name, clip, data, keras_runs):
    params, grads = data
    state = opt.initial_state(name, params)
    lr = tf.constant(_learning_rate(name))
    threshold = tf.constant(THRESHOLD[clip], tf.float32)
    for t, (g, (keras_params, keras_state)) in enumerate(
        zip(grads, keras_runs[name, clip], strict=True)
    ):
        g = opt.clip_gradients(g, clip, threshold, STACKED)
        params, state = opt.apply_updates(name, params, g, state, lr)
        for i, (a, b) in enumerate(zip(_unstack(params), keras_params, strict=True)):
            np.testing.assert_allclose(a, b, RTOL, ATOL, err_msg=f"step {t}, variable {i}")
            if clip != "norm":
                # Eagerly, the same elementwise ops in the same order give the same
                # bits; this catches reorderings far below the tolerance. (A stack's
                # norm is summed in another order than its slices' norms.)
                np.testing.assert_array_equal(a, b, err_msg=f"step {t}, variable {i}")
        _assert_state_close(_unstack_state(state), keras_state, f"step {t}")


def _graph_run(name, clip):
    """Our steps in one tf.function of unknown dims, looping in a tf.while_loop."""
    rule = opt.OPTIMIZERS[name]
    ranks = [len(s) for s in SHAPES]
    param_spec = [tf.TensorSpec([None] * r, tf.float32) for r in ranks]
    grad_spec = [tf.TensorSpec([None] * (r + 1), tf.float32) for r in ranks]  # [step, ...]
    state_spec = opt.OptimizerState(
        tf.TensorSpec([], tf.int64),
        tuple(tuple(param_spec) for _ in rule.slots),
        tuple(tf.TensorSpec([], tf.float32) for _ in rule.extra_init),
    )
    scalar = tf.TensorSpec([], tf.float32)

    @tf.function(input_signature=[param_spec, grad_spec, state_spec, scalar, scalar])
    def run(params, grads, state, lr, threshold):
        n_steps = tf.shape(grads[0])[0]
        trace = [tf.TensorArray(tf.float32, size=n_steps) for _ in params]

        def body(t, params, state, trace):
            g = opt.clip_gradients([x[t] for x in grads], clip, threshold, STACKED)
            params, state = opt.apply_updates(name, params, g, state, lr)
            return t + 1, params, state, [a.write(t, p) for a, p in zip(trace, params, strict=True)]

        _, _, state, trace = tf.while_loop(
            lambda t, *_: t < n_steps, body, (tf.constant(0), params, state, trace)
        )
        return [a.stack() for a in trace], state

    return run


@pytest.mark.parametrize("clip", [None, "norm", "value"])
@pytest.mark.parametrize("name", NAMES)
def test_tf_function_while_loop_matches_keras(name, clip, data, keras_runs):
    params, grads = data
    run = _graph_run(name, clip)
    by_variable = [np.stack([step[i] for step in grads]) for i in range(len(SHAPES))]
    args = (_learning_rate(name), np.float32(THRESHOLD[clip]))
    trace, state = run(params, by_variable, opt.initial_state(name, params), *args)
    for t, (keras_params, _) in enumerate(keras_runs[name, clip]):
        ours = _unstack([x[t].numpy() for x in trace])
        for i, (a, b) in enumerate(zip(ours, keras_params, strict=True)):
            np.testing.assert_allclose(a, b, RTOL, ATOL, err_msg=f"step {t}, variable {i}")
    state = tf.nest.map_structure(lambda x: x.numpy(), state)
    _assert_state_close(_unstack_state(state), keras_runs[name, clip][-1][1], "final state")

    # Stacks of 0 layers go through the same graph (no retrace) and change nothing else.
    empty = [p[:0] if s else p for p, s in zip(params, STACKED, strict=True)]
    empty_grads = [g[:, :0] if s else g for g, s in zip(by_variable, STACKED, strict=True)]
    empty_trace, _ = run(empty, empty_grads, opt.initial_state(name, empty), *args)
    assert run.experimental_get_tracing_count() == 1
    for a, b, s in zip(empty_trace, trace, STACKED, strict=True):
        if s:
            assert a.shape[1] == 0
        else:
            np.testing.assert_array_equal(a, b)


def test_clipnorm_clips_each_slice_of_a_stack_on_its_own():
    small = np.full((2, 2), 0.25, np.float32)  # norm 0.5
    large = np.full((2, 2), 1.5, np.float32)  # norm 3
    kernel, bias = np.stack([small, large]), np.array([[0.3, 0.4], [3.0, 4.0]], np.float32)
    clipped = opt.clip_gradients([kernel, bias], "norm", tf.constant(1.0), [True, True])
    np.testing.assert_allclose(clipped[0][0], small, rtol=1e-6)  # a whole-stack clip scales it
    np.testing.assert_allclose(np.linalg.norm(clipped[0][1].numpy()), 1.0, rtol=1e-6)
    np.testing.assert_allclose(clipped[1], [[0.3, 0.4], [0.6, 0.8]], rtol=1e-6)
    # Unstacked, the same tensor is one Keras variable: clipped as a whole.
    whole = opt.clip_gradients([kernel], "norm", tf.constant(1.0), [False])[0]
    np.testing.assert_allclose(whole, tf.clip_by_norm(kernel, 1.0), rtol=1e-6)


def test_every_optimizer_is_mapped_to_its_keras_class():
    assert sorted(opt.OPTIMIZERS) == sorted(NAMES)
    for name in NAMES:
        assert opt.OPTIMIZERS[name].keras_class is KERAS_CLASSES[name], name


@pytest.mark.parametrize("name", NAMES)
def test_default_learning_rate_is_keras_default(name):
    expected = DEFAULT_LEARNING_RATES[name]
    assert opt.default_learning_rate(name) == expected
    # And that is still Keras' default (if not, Keras changed: update the literal).
    assert KERAS_CLASSES[name]().learning_rate.numpy() == np.float32(expected)


# Keras options whose non-default values the rules do not implement.
ASSUMED_OFF = {"amsgrad": False, "momentum": 0.0, "centered": False, "nesterov": False}


@pytest.mark.parametrize("name", NAMES)
def test_hard_coded_hyper_parameters_are_keras_defaults(name):
    rule = opt.OPTIMIZERS[name]
    hard_coded = {}
    for fn in filter(None, (rule.update, rule.update_extra)):
        for k, p in inspect.signature(fn).parameters.items():
            if p.default is not inspect.Parameter.empty:
                assert hard_coded.setdefault(k, p.default) == p.default, (name, k)
    hard_coded["weight_decay"] = rule.weight_decay
    hard_coded["initial_accumulator_value"] = rule.slot_init
    # No weight decay and zero-filled slots unless the literal says otherwise.
    expected = {"weight_decay": None, "initial_accumulator_value": 0.0, **KERAS_DEFAULTS[name]}
    assert hard_coded == expected, name
    # Keras' own signature agrees with the literal (if not, Keras changed its defaults).
    keras_defaults = {
        k: p.default for k, p in inspect.signature(KERAS_CLASSES[name]).parameters.items()
    }
    for k, value in expected.items():
        assert keras_defaults.get(k, value) == value, (name, k)
    assert "weight_decay" in keras_defaults, name
    for k, off in ASSUMED_OFF.items():
        assert keras_defaults.get(k, off) == off, (name, k)


def _built(name, shapes=((4, 3), (3,), (3,))):
    optimizer = KERAS_CLASSES[name]()
    variables = [keras.Variable(np.zeros(s, np.float32)) for s in shapes]
    optimizer.build(variables)
    return optimizer, variables


@pytest.mark.parametrize("name", NAMES)
def test_keras_variable_layout_is_the_one_assumed(name):
    # If this fails, Keras changed how it lays out `optimizer.variables`:
    # skoptnn.engine.optimizers._keras_layout must follow.
    optimizer, variables = _built(name)
    names = [v.name for v in optimizer.variables]
    expected = ["iteration", "learning_rate"]
    expected += [f"{v.path.replace('/', '_')}_{slot}" for v in variables
                 for slot in KERAS_SLOTS[name]]
    n_globals = KERAS_GLOBALS.get(name, 0)
    assert names[: len(expected)] == expected, f"Keras' optimizer layout changed: {names}"
    assert len(names) == len(expected) + n_globals, f"Keras' optimizer layout changed: {names}"
    assert all(v.shape == () and v.dtype == "float32" for v in optimizer.variables[len(expected):])
    # skoptnn's rule lays its state out the same way.
    rule = opt.OPTIMIZERS[name]
    assert rule.slots == KERAS_SLOTS[name]
    assert len(rule.extra_init) == n_globals
    state = opt.from_keras(optimizer, name)  # raises RuntimeError on an unknown layout
    _assert_state_close(state, opt.initial_state(name, variables), "freshly built")


@pytest.mark.parametrize(
    "make",
    [
        lambda: keras.optimizers.Adam(amsgrad=True),  # a third slot per variable
        lambda: keras.optimizers.Adam(use_ema=True),  # moving averages first
        lambda: keras.optimizers.Nadam(),  # not built: no u_product yet
    ],
)
def test_an_unknown_layout_is_refused_loudly(make):
    optimizer = make()
    if not isinstance(optimizer, keras.optimizers.Nadam):
        optimizer.build([keras.Variable(np.zeros(s, np.float32)) for s in ((4, 3), (3,))])
    name = "nadam" if isinstance(optimizer, keras.optimizers.Nadam) else "adam"
    with pytest.raises(RuntimeError, match="lays out its optimizer state differently"):
        opt.from_keras(optimizer, name)


@pytest.mark.parametrize("name", NAMES)
def test_to_keras_from_keras_round_trip(name):
    rng = np.random.default_rng(1)
    optimizer, variables = _built(name)
    lr_before = optimizer.learning_rate.numpy()
    state = opt.initial_state(name, variables)
    state = opt.OptimizerState(
        np.int64(7),
        tf.nest.map_structure(lambda s: rng.random(s.shape).astype(np.float32), state.slots),
        tuple(np.float32(rng.random()) for _ in state.extra),
    )
    opt.to_keras(optimizer, state)
    back = opt.from_keras(optimizer, name)
    assert back.step == 7 and isinstance(back.step, np.int64)
    tf.nest.assert_same_structure(back, state)
    for a, b in zip(tf.nest.flatten(back), tf.nest.flatten(state), strict=True):
        np.testing.assert_array_equal(a, b)
    assert optimizer.learning_rate.numpy() == lr_before

    # Keras, continuing from that state, takes the step we take.
    grads = [rng.normal(size=v.shape).astype(np.float32) for v in variables]
    params = [v.numpy() for v in variables]
    optimizer.apply(grads, variables)
    ours, ours_state = opt.apply_updates(name, params, grads, state, optimizer.learning_rate)
    for a, v in zip(ours, variables, strict=True):
        np.testing.assert_allclose(a, v.numpy(), RTOL, ATOL)
    _assert_state_close(
        tf.nest.map_structure(np.asarray, ours_state), opt.from_keras(optimizer, name), "resumed"
    )
