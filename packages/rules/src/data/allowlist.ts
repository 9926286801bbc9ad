import {
  numpyScalarTypes,
  sklearnEstimators,
  sklearnPickledGlobals,
  torchModulesEverywhere,
  torchOptimizers,
} from './framework-classes.js';

/**
 * Allowlists, as exact (module, name) pairs: one line per module, `module name name ...`.
 * An allowlisted module never allowlists its other attributes (ModelAudit #518 passed
 * `sklearn.ensemble._anything.execute` because it matched module prefixes).
 */

/**
 * The safe tier: data-only globals. This is what `torch.load(weights_only=True)` accepts
 * (torch/_weights_only_unpickler.py `_get_allowed_globals`, torch 1.13 through 2.x), plus the NumPy
 * array/dtype/scalar/random-state reconstructors and joblib's inline array wrapper, which only rebuild
 * arrays. joblib's pre-0.10 wrappers read a file named in the pickle, so they are only `known`.
 */
export const SAFE_TEXT = `
  collections OrderedDict Counter
  _codecs encode
  builtins set bytearray complex
  torch Size Tensor device dtype layout memory_format FloatTensor DoubleTensor HalfTensor BFloat16Tensor LongTensor IntTensor ShortTensor CharTensor ByteTensor BoolTensor
  torch FloatStorage DoubleStorage HalfStorage BFloat16Storage LongStorage IntStorage ShortStorage CharStorage ByteStorage BoolStorage ComplexFloatStorage ComplexDoubleStorage QUInt8Storage QInt8Storage QInt32Storage QUInt4x2Storage QUInt2x4Storage UntypedStorage TypedStorage
  torch float64 float32 float16 bfloat16 int64 int32 int16 int8 uint8 uint16 uint32 uint64 bool complex128 complex64 complex32 qint8 qint32 quint8 quint4x2 quint2x4 bits1x8 bits2x4 bits4x2 bits8 bits16 float8_e4m3fn float8_e5m2 float8_e4m3fnuz float8_e5m2fnuz float8_e8m0fnu float4_e2m1fn_x2 uint1 uint2 uint3 uint4 uint5 uint6 uint7 int1 int2 int3 int4 int5 int6 int7 double float half long int short cfloat cdouble chalf
  torch strided sparse_coo sparse_csr sparse_csc sparse_bsr sparse_bsc _mkldnn contiguous_format channels_last channels_last_3d preserve_format
  torch per_tensor_affine per_tensor_symmetric per_channel_affine per_channel_symmetric per_channel_affine_float_qparams
  torch.cuda FloatTensor DoubleTensor HalfTensor BFloat16Tensor LongTensor IntTensor ShortTensor CharTensor ByteTensor BoolTensor FloatStorage DoubleStorage HalfStorage BFloat16Storage LongStorage IntStorage ShortStorage CharStorage ByteStorage BoolStorage ComplexFloatStorage ComplexDoubleStorage
  torch.cuda.sparse FloatTensor DoubleTensor HalfTensor BFloat16Tensor LongTensor IntTensor ShortTensor CharTensor ByteTensor
  torch.sparse FloatTensor DoubleTensor HalfTensor BFloat16Tensor LongTensor IntTensor ShortTensor CharTensor ByteTensor
  torch.storage TypedStorage UntypedStorage _LegacyStorage
  torch.nn.parameter Parameter UninitializedParameter UninitializedBuffer Buffer
  torch.serialization _get_layout
  torch._utils _rebuild_tensor _rebuild_tensor_v2 _rebuild_tensor_v3 _rebuild_parameter _rebuild_parameter_with_state _rebuild_parameter_v2 _rebuild_qtensor _rebuild_sparse_tensor _rebuild_sparse_csr_tensor _rebuild_meta_tensor_no_storage _rebuild_wrapper_subclass _rebuild_device_tensor_from_numpy _rebuild_device_tensor_from_cpu_tensor _rebuild_nested_tensor _rebuild_xla_tensor _rebuild_mps_tensor _rebuild_mtia_tensor _rebuild_typed_storage _rebuild_typed_storage_child
  torch._tensor _rebuild_from_type_v2
  torch.distributed.tensor DTensor
  torch.distributed.tensor.placement_types Shard Replicate Partial
  torch.distributed.tensor._dtensor_spec DTensorSpec TensorMeta
  torch.distributed.device_mesh DeviceMesh
  numpy ndarray dtype
  numpy.core.multiarray _reconstruct scalar
  numpy._core.multiarray _reconstruct scalar
  numpy.core.numeric _frombuffer
  numpy._core.numeric _frombuffer
  numpy.random __RandomState_ctor
  numpy.random._pickle __randomstate_ctor __generator_ctor __bit_generator_ctor
  numpy.random.mtrand RandomState
  numpy.random._generator Generator
  numpy.random._mt19937 MT19937
  numpy.random._pcg64 PCG64 PCG64DXSM
  numpy.random._philox Philox
  numpy.random._sfc64 SFC64
  numpy.random.bit_generator SeedSequence __pyx_unpickle_SeedSequence
  numpy.dtypes BoolDType Int8DType UInt8DType Int16DType UInt16DType Int32DType UInt32DType Int64DType UInt64DType ByteDType UByteDType ShortDType UShortDType IntDType UIntDType LongDType ULongDType LongLongDType ULongLongDType Float16DType Float32DType Float64DType LongDoubleDType Complex64DType Complex128DType CLongDoubleDType ObjectDType BytesDType StrDType VoidDType DateTime64DType TimeDelta64DType StringDType
  joblib.numpy_pickle NumpyArrayWrapper
`;

/**
 * The known tier: classes that legitimate whole-object saves contain (nn.Module subclasses, optimizers,
 * sklearn estimators, trainer argument classes, ultralytics modules) and the ordinary stdlib data types
 * a checkpoint's metadata may hold. Informational under the default policy; not accepted by `weights-only`.
 */
export const KNOWN_TEXT = `
  builtins object dict list tuple int float str bytes bool frozenset slice range NoneType Ellipsis NotImplemented
  copyreg _reconstructor __newobj__ __newobj_ex__
  collections deque defaultdict ChainMap UserDict UserList UserString
  datetime datetime date time timedelta timezone tzinfo
  decimal Decimal Context
  fractions Fraction
  pathlib Path PosixPath WindowsPath PurePath PurePosixPath PureWindowsPath
  uuid UUID SafeUUID
  http HTTPStatus HTTPMethod
  enum Enum IntEnum Flag IntFlag StrEnum
  re _compile Pattern RegexFlag
  argparse Namespace
  types SimpleNamespace
  array array _array_reconstructor
  _io BytesIO StringIO
  io BytesIO StringIO
  torch.jit._pickle build_intlist build_tensorlist build_doublelist build_boollist build_tensor_from_id restore_type_tag
  torch.nn.utils.parametrize ParametrizationList
  torch.nn.modules.module _WrappedHook
  torch ScriptObject
  torch.nn.utils.weight_norm WeightNorm
  torch.nn.utils.spectral_norm SpectralNorm SpectralNormLoadStateDictPreHook SpectralNormStateDictHook
  torch.nn.modules.normalization RMSNorm
  torch.nn.modules.padding CircularPad1d CircularPad2d CircularPad3d ZeroPad1d ZeroPad3d
  torch.optim.lr_scheduler LambdaLR MultiplicativeLR StepLR MultiStepLR ConstantLR LinearLR ExponentialLR SequentialLR CosineAnnealingLR ChainedScheduler ReduceLROnPlateau CyclicLR CosineAnnealingWarmRestarts OneCycleLR PolynomialLR
  torch.cuda.amp.grad_scaler GradScaler
  torch.amp.grad_scaler GradScaler
  numpy.ma.core _mareconstruct MaskedArray MaskedConstant
  scipy.sparse csr_matrix csc_matrix coo_matrix lil_matrix bsr_matrix dia_matrix dok_matrix csr_array csc_array coo_array
  scipy.sparse._csr csr_matrix csr_array
  scipy.sparse._csc csc_matrix csc_array
  scipy.sparse._coo coo_matrix coo_array
  scipy.sparse._bsr bsr_matrix bsr_array
  scipy.sparse._dia dia_matrix dia_array
  scipy.sparse._lil lil_matrix lil_array
  scipy.sparse._dok dok_matrix dok_array
  scipy.sparse.csr csr_matrix
  scipy.sparse.csc csc_matrix
  scipy.sparse.coo coo_matrix
  sklearn.tree._tree Tree
  sklearn.neighbors._kd_tree KDTree
  sklearn.neighbors._ball_tree BallTree
  sklearn._loss.loss HalfSquaredError HalfBinomialLoss HalfMultinomialLoss HalfPoissonLoss HalfGammaLoss HalfTweedieLoss HalfTweedieLossIdentity AbsoluteError PinballLoss HuberLoss ExponentialLoss
  sklearn._loss.link IdentityLink LogLink LogitLink HalfLogitLink MultinomialLogit Interval
  sklearn.ensemble._hist_gradient_boosting.binning _BinMapper
  sklearn.ensemble._hist_gradient_boosting.predictor TreePredictor
  sklearn.preprocessing._label LabelEncoder LabelBinarizer MultiLabelBinarizer
  sklearn._loss._loss CyHalfSquaredError CyHalfBinomialLoss CyHalfMultinomialLoss CyHalfPoissonLoss CyHalfGammaLoss CyHalfTweedieLoss CyHalfTweedieLossIdentity CyAbsoluteError CyPinballLoss CyHuberLoss CyExponentialLoss __pyx_unpickle_CyHalfSquaredError __pyx_unpickle_CyHalfBinomialLoss __pyx_unpickle_CyHalfMultinomialLoss __pyx_unpickle_CyHalfPoissonLoss __pyx_unpickle_CyHalfGammaLoss __pyx_unpickle_CyHalfTweedieLoss __pyx_unpickle_CyHalfTweedieLossIdentity __pyx_unpickle_CyAbsoluteError __pyx_unpickle_CyPinballLoss __pyx_unpickle_CyHuberLoss __pyx_unpickle_CyExponentialLoss
  sklearn.linear_model._sgd_fast Hinge Log ModifiedHuber SquaredHinge SquaredLoss Huber EpsilonInsensitive SquaredEpsilonInsensitive
  sklearn.ensemble._gb_losses LeastSquaresError LeastAbsoluteError HuberLossFunction QuantileLossFunction BinomialDeviance MultinomialDeviance ExponentialLoss
  sklearn.neighbors._kd_tree newObj
  sklearn.neighbors._ball_tree newObj
  sklearn.metrics._dist_metrics newObj EuclideanDistance SEuclideanDistance ManhattanDistance ChebyshevDistance MinkowskiDistance MahalanobisDistance HammingDistance CanberraDistance BrayCurtisDistance JaccardDistance HaversineDistance
  sklearn.neural_network._stochastic_optimizers AdamOptimizer SGDOptimizer
  sklearn.gaussian_process.kernels RBF Matern RationalQuadratic ExpSineSquared DotProduct WhiteKernel ConstantKernel Sum Product Exponentiation PairwiseKernel CompoundKernel Hyperparameter
  sklearn.feature_selection._univariate_selection f_classif f_regression chi2 r_regression f_oneway
  sklearn.feature_selection._mutual_info mutual_info_classif mutual_info_regression
  numpy mean median sum amax amin max min std var average nanmean nanmedian nansum nanmax nanmin prod percentile quantile
  torch.nn.functional relu gelu silu mish sigmoid tanh softmax log_softmax leaky_relu elu selu celu hardswish hardsigmoid hardtanh relu6 softplus softsign glu logsigmoid tanhshrink
  lightgbm.sklearn LGBMClassifier LGBMRegressor LGBMRanker
  lightgbm.basic Booster
  xgboost.sklearn XGBClassifier XGBRegressor XGBRanker XGBRFClassifier XGBRFRegressor
  xgboost.core Booster
  pandas.core.frame DataFrame
  pandas.core.series Series
  pandas.core.indexes.base Index _new_Index
  pandas.core.indexes.range RangeIndex
  pandas.core.indexes.multi MultiIndex
  pandas.core.internals.managers BlockManager SingleBlockManager
  pandas._libs.internals _unpickle_block
  pandas.core.internals.blocks new_block
  pandas._libs.tslibs.timestamps _unpickle_timestamp
  transformers.training_args TrainingArguments OptimizerNames ParallelMode
  transformers.training_args_seq2seq Seq2SeqTrainingArguments
  transformers.trainer_utils IntervalStrategy SchedulerType HubStrategy EvaluationStrategy FSDPOption SaveStrategy ShardedDDPOption
  transformers.debug_utils DebugOption
  transformers.deepspeed HfTrainerDeepSpeedConfig HfDeepSpeedConfig
  transformers.integrations.deepspeed HfTrainerDeepSpeedConfig HfDeepSpeedConfig
  transformers.trainer_pt_utils AcceleratorConfig
  transformers.generation.configuration_utils GenerationConfig
  accelerate.state PartialState
  accelerate.utils.deepspeed HfDeepSpeedConfig
  accelerate.utils.dataclasses DistributedType DeepSpeedPlugin
  trl.trainer.sft_config SFTConfig
  trl.trainer.dpo_config DPOConfig FDivergenceType
  trl.trainer.grpo_config GRPOConfig
  trl.trainer.kto_config KTOConfig
  trl.trainer.ppov2_config PPOv2Config
  sentence_transformers.training_args BatchSamplers MultiDatasetBatchSamplers SentenceTransformerTrainingArguments
  alignment.configs SFTConfig DPOConfig
  ultralytics.nn.tasks DetectionModel SegmentationModel ClassificationModel PoseModel OBBModel RTDETRDetectionModel WorldModel
  ultralytics.nn.modules.block SPPF SPP DFL Bottleneck BottleneckCSP C1 C2 C2f C3 C3x C3TR C3Ghost C3k C3k2 C2PSA PSABlock Attention Proto RepC3 ResNetLayer GhostBottleneck HGStem HGBlock RepNCSPELAN4 ADown SPPELAN Silence CBLinear CBFuse
  ultralytics.nn.modules.head Detect Segment Pose Classify OBB RTDETRDecoder WorldDetect v10Detect
  ultralytics.nn.modules.conv Conv Conv2 DWConv DWConvTranspose2d ConvTranspose Focus GhostConv ChannelAttention SpatialAttention CBAM Concat RepConv LightConv
  ultralytics.nn.modules.transformer AIFI TransformerLayer TransformerBlock MLPBlock MLP DeformableTransformerDecoder DeformableTransformerDecoderLayer MSDeformAttn
  ultralytics.nn.modules.batchnorm BatchNorm2d
  ultralytics.utils IterableSimpleNamespace
  ultralytics.utils.loss BboxLoss v8DetectionLoss v8SegmentationLoss
  ultralytics.utils.tal TaskAlignedAssigner
  ultralytics.yolo.utils IterableSimpleNamespace
  tokenizers Tokenizer AddedToken
  joblib.numpy_pickle NDArrayWrapper ZNDArrayWrapper
  joblib.numpy_pickle_compat NDArrayWrapper ZNDArrayWrapper
`;

/** Known-tier pairs introspected from the installed libraries (see scripts/framework-classes.py). */
export const KNOWN_GENERATED: ReadonlyArray<Record<string, readonly string[]>> = [
  torchModulesEverywhere,
  torchOptimizers,
  sklearnEstimators,
  sklearnPickledGlobals,
  numpyScalarTypes,
];
