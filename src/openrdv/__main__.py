from openrdv.cli import main

main()
