pytest_plugins = ["testenv.pytest_plugin"]
