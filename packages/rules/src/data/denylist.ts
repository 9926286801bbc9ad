/**
 * The dangerous tier: the union of every public denylist and published gadget (picklescan, ModelScan,
 * fickling, ModelAudit and its Rust engine, the advisories in peers.md §3), grouped by what the callable
 * lets an attacker do. This list only labels severity and family: brine's verdict does not depend on it
 * being complete, because anything unlisted from the standard library, torch or NumPy fails anyway.
 *
 * Format, one entry per line: `module name name ...` for exact (module, name) pairs, where a name may be
 * dotted (`Class.method`, as protocol-4 `find_class` walks attributes), or `module *` for a whole module
 * and all its submodules (CVE-2025-10157: a wildcard on `asyncio` must also cover `asyncio.unix_events`).
 */
export const DANGEROUS_FAMILIES: Record<string, string> = {
  // Calls that switch off, reconfigure or extend a loader's or scanner's protection: torch's
  // weights_only allowlist, scanners' import hooks and "safe environments", audit and import hooks.
  // Listed first so their family wins over the module wildcards they sit in (torch.serialization *, sys *).
  'security-tooling': `
    torch.serialization add_safe_globals safe_globals clear_safe_globals get_unsafe_globals_in_checkpoint register_package _get_safe_globals _default_to_weights_only
    torch._weights_only_unpickler *
    torch.utils.serialization *
    fickling *
    picklescan *
    modelscan *
    modelaudit *
    model_unpickler *
    saferpickle *
    safer_pickle *
    safetensors_scan *
    sys addaudithook audit meta_path path_hooks path_importer_cache meta_path.clear meta_path.insert meta_path.append meta_path.remove meta_path.pop meta_path.extend path_hooks.clear path_hooks.insert path_hooks.append
    os putenv unsetenv environ.update environ.setdefault environ.__setitem__ environ.pop environ.clear
    posix putenv unsetenv
    importlib.machinery PathFinder FileFinder SourceFileLoader
    pickle Unpickler.find_class _Unpickler.find_class
    _pickle Unpickler.find_class
  `,
  'command-execution': `
    os *
    posix *
    nt *
    subprocess *
    _posixsubprocess *
    pty *
    commands *
    popen2 *
    pexpect *
    sh *
    plumbum *
    multiprocessing *
    _winapi *
    ctypes *
    _ctypes *
    cffi *
    venv *
    ensurepip *
    pip *
    setuptools *
    distutils *
    pkg_resources *
    webbrowser *
    platform *
    pipes *
    _osx_support *
    _aix_support *
    _pyrepl *
    mailcap findmatch getcaps
    uuid _get_command_stdout _popen _arp_getnode _ifconfig_getnode _ip_getnode _lanscan_getnode _netstat_getnode getnode _find_mac _find_mac_near_keyword _find_mac_under_heading
    imaplib IMAP4_stream
    pydoc *
    test *
    torch.utils.collect_env *
    torch._inductor *
    torch.utils.cpp_extension *
    IPython *
    invoke run sudo
    fabric *
    paramiko *
    docker *
    mlflow.projects *
    mlflow.utils.process *
    mlflow.pyfunc spark_udf
    tkinter *
    _tkinter *
  `,
  'code-evaluation': `
    builtins eval exec compile execfile __import__ breakpoint input raw_input reload exit quit help license credits copyright __build_class__
    code *
    codeop *
    runpy *
    timeit *
    doctest *
    idlelib *
    lib2to3 *
    _xxsubinterpreters *
    _interpreters *
    _xxinterpchannels *
    _interpqueues *
    _interpchannels *
    concurrent.interpreters *
    types CodeType FunctionType LambdaType MethodType ModuleType GeneratorType CoroutineType AsyncGeneratorType FrameType new_class prepare_class exec_module DynamicClassAttribute ClassMethodDescriptorType.__get__ GetSetDescriptorType.__get__ MemberDescriptorType.__get__ MethodDescriptorType.__get__ WrapperDescriptorType.__get__
    typing _eval_type get_type_hints ForwardRef ForwardRef._evaluate
    annotationlib *
    dataclasses _create_fn make_dataclass
    collections eval namedtuple
    string Formatter.get_field Formatter.format Formatter.vformat Template.substitute
    numpy.testing *
    numpy.f2py *
    numpy.distutils *
    numpy.lib.utils *
    torch.jit *
    torch._dynamo *
    torch.fx *
    torch._export *
    torch.export *
    torch.compile *
    torch compile _C._jit_script_compile
    torch.package *
    torch.utils.bottleneck *
    torch.utils._config_module *
    torch.distributed.elastic *
    torch.testing._internal *
    numexpr evaluate re_evaluate
    pandas eval
    pandas.core.computation *
    sympy sympify parse_expr
    sympy.parsing *
    sympy.core.sympify sympify
    jinja2 *
    mako *
    keras.layers Lambda
    tensorflow.keras.layers Lambda
    keras.src.layers Lambda
    sklearn.utils._testing *
    tensorflow *
    transformers.dynamic_module_utils *
  `,
  'nested-deserialisation': `
    pickle *
    _pickle *
    cPickle *
    pickletools *
    _compat_pickle *
    copyreg add_extension remove_extension clear_extension_cache
    copy_reg add_extension remove_extension
    marshal *
    shelve *
    dbm *
    dill *
    cloudpickle *
    jsonpickle *
    joblib load _pickle_load dump Parallel delayed Memory register_compressor register_parallel_backend parallel_backend hash wrap_non_picklable_objects
    joblib.numpy_pickle load read_array load_compatibility _unpickle
    joblib.numpy_pickle_compat load_compatibility read_zfile
    joblib.externals *
    joblib.memory *
    joblib.parallel *
    sklearn.externals *
    torch load save _load_from_bytes
    torch.serialization *
    torch.storage _load_from_bytes
    torch._utils _rebuild_from_type
    torch.utils.data.datapipes *
    torch.multiprocessing *
    numpy load loads fromfile fromregex genfromtxt loadtxt save savez savez_compressed savetxt tofile memmap DataSource
    numpy.lib.npyio *
    numpy.lib._npyio_impl *
    numpy.lib.format read_array open_memmap read_array_header_1_0 read_array_header_2_0
    numpy.lib._datasource *
    numpy.core.multiarray fromfile
    numpy.core.records fromfile
    numpy.ma.core load loads dump dumps
    yaml load load_all unsafe_load unsafe_load_all full_load full_load_all Loader UnsafeLoader FullLoader CLoader CUnsafeLoader CFullLoader
    yaml.loader Loader UnsafeLoader FullLoader
    yaml.cyaml CLoader CUnsafeLoader CFullLoader
    ruamel.yaml *
    srsly pickle_loads pickle_dumps
    srsly._pickle_api *
    keras.models load_model
    keras.saving *
    keras.src.saving *
    keras.utils get_file
    h5py *
    scipy.io *
    safetensors.torch load_file
    onnx load load_model
  `,
  'file-system': `
    builtins open file
    io open open_code FileIO BufferedReader BufferedWriter BufferedRandom TextIOWrapper FileIO.write TextIOWrapper.write
    _io open open_code FileIO BufferedReader BufferedWriter BufferedRandom TextIOWrapper FileIO.write TextIOWrapper.write
    _pyio *
    codecs open decode encode EncodedFile StreamReaderWriter.write
    shutil *
    tempfile *
    glob *
    fnmatch *
    fileinput *
    filecmp *
    linecache *
    tokenize open
    tarfile *
    zipfile *
    zipimport *
    gzip open GzipFile
    bz2 open BZ2File
    lzma open LZMAFile
    mmap *
    sqlite3 *
    _sqlite3 *
    logging *
    syslog *
    mailbox *
    csv DictWriter.writerow DictWriter.writerows writer
    compileall *
    py_compile *
    site *
    sysconfig *
    argparse FileType
    pathlib Path.open Path.write_bytes Path.write_text Path.read_bytes Path.read_text Path.unlink Path.rmdir Path.rename Path.replace Path.touch Path.mkdir Path.symlink_to Path.hardlink_to Path.chmod PosixPath.open PosixPath.write_bytes PosixPath.write_text PosixPath.read_text PosixPath.read_bytes PosixPath.unlink WindowsPath.open WindowsPath.write_bytes WindowsPath.write_text
    resource *
    fcntl *
    termios *
    pandas.io *
    fsspec *
    smart_open *
    dotenv *
    torch.utils.tensorboard *
  `,
  network: `
    socket *
    _socket *
    ssl *
    _ssl *
    http *
    httplib *
    urllib *
    urllib2 *
    urllib3 *
    requests *
    httpx *
    aiohttp *
    pycurl *
    ftplib *
    smtplib *
    smtpd *
    poplib *
    imaplib *
    nntplib *
    telnetlib *
    socketserver *
    SocketServer *
    xmlrpc *
    xmlrpclib *
    wsgiref *
    asyncio *
    _asyncio *
    select *
    selectors *
    asyncore *
    asynchat *
    ipaddress _ip_address_from_string
    torch.hub *
    torch.utils.model_zoo *
    torch.distributed *
    torch.utils.data.datapipes.iter.load *
    torchvision.datasets.utils *
    torchvision.io *
    huggingface_hub *
    transformers pipeline AutoModel AutoModelForCausalLM AutoModelForSeq2SeqLM AutoModelForSequenceClassification AutoTokenizer AutoConfig AutoProcessor AutoFeatureExtractor AutoImageProcessor
    transformers.pipelines *
    transformers.utils.hub *
    transformers.file_utils cached_path get_from_cache hf_bucket_url
    diffusers DiffusionPipeline
    timm create_model load_checkpoint
    timm.models *
    mlflow *
    boto3 *
    botocore *
    gdown *
    wget *
    nltk download
    nltk.downloader *
    spacy.cli *
    sklearn.datasets *
    pandas read_csv read_pickle read_excel read_json read_html read_parquet read_table read_sql read_sql_query read_sql_table read_feather read_hdf read_orc read_sas read_spss read_stata read_xml read_fwf read_clipboard read_gbq
  `,
  reflection: `
    builtins getattr setattr delattr hasattr globals locals vars dir type super object.__getattribute__ object.__reduce__ object.__reduce_ex__ object.__subclasses__ classmethod staticmethod property map filter iter next apply memoryview
    operator *
    _operator *
    functools *
    _functools *
    itertools *
    importlib *
    _imp *
    imp *
    _frozen_importlib *
    _frozen_importlib_external *
    pkgutil *
    inspect *
    gc *
    sys *
    weakref finalize
    _weakref *
    atexit *
    contextlib *
    contextvars *
    concurrent *
    sched *
    threading *
    _thread *
    signal *
    _signal *
    faulthandler *
    tracemalloc *
    unittest *
    abc ABCMeta
    enum EnumMeta EnumType
    copy deepcopy copy
    statistics quantiles
    __builtins__ *
  `,
  'debugger-profiler': `
    pdb *
    bdb *
    cProfile *
    profile *
    _lsprof *
    pstats *
    trace *
    sys settrace setprofile
    torch.autograd.profiler *
    torch.profiler *
  `,
};

/**
 * Attribute names that, met as a component of a dotted name (the part `find_class` walks with
 * `getattr` at protocol 4+), reach code execution, loading or downloading whatever object precedes them.
 */
export const DANGEROUS_ATTRIBUTES: Record<string, string> = {
  system: 'command-execution',
  popen: 'command-execution',
  spawn: 'command-execution',
  spawnv: 'command-execution',
  spawnve: 'command-execution',
  execv: 'command-execution',
  execve: 'command-execution',
  execl: 'command-execution',
  execvp: 'command-execution',
  check_output: 'command-execution',
  check_call: 'command-execution',
  getoutput: 'command-execution',
  run_path: 'code-evaluation',
  run_module: 'code-evaluation',
  runcode: 'code-evaluation',
  runsource: 'code-evaluation',
  runctx: 'code-evaluation',
  eval: 'code-evaluation',
  exec: 'code-evaluation',
  compile: 'code-evaluation',
  __import__: 'code-evaluation',
  import_module: 'reflection',
  resolve_name: 'reflection',
  locate: 'reflection',
  attrgetter: 'reflection',
  methodcaller: 'reflection',
  loads: 'nested-deserialisation',
  load_model: 'nested-deserialisation',
  load_state_dict_from_url: 'network',
  from_pretrained: 'network',
  from_single_file: 'network',
  hf_hub_download: 'network',
  snapshot_download: 'network',
  urlopen: 'network',
  urlretrieve: 'network',
  read_csv: 'network',
  read_pickle: 'nested-deserialisation',
  write_text: 'file-system',
  from_file: 'file-system',
  write_bytes: 'file-system',
  rmtree: 'file-system',
  meta_path: 'security-tooling',
  path_hooks: 'security-tooling',
  addaudithook: 'security-tooling',
  add_safe_globals: 'security-tooling',
  safe_globals: 'security-tooling',
  find_class: 'security-tooling',
};
