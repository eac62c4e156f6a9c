from desk.app import main

raise SystemExit(main())
