from apiinv.cli import main

main()
