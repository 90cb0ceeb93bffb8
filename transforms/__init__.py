"""The build's logic: pure functions plus thin Beam DoFns/PTransforms (see README, "How a build works").

A local worker process (the multi-processing runner) imports this package before it runs any of
its DoFns: the FileSystem plugins its launcher was given (`fs.configure`, which names them in the
environment) are registered here."""

import os

if os.environ.get("POLYCORP_BEAM_PLUGINS"):  # only then: importing Beam here would log before the CLI sets logging up
    from transforms.fs import import_inherited_plugins

    import_inherited_plugins()
