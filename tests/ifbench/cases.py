"""Answers written to probe each IFBench instruction id (input of generate_upstream_verdicts.py).

Every id gets the GENERIC answers with its kwargs plus answers of its own: ones that follow
the instruction, ones that just miss, and ones on upstream's quirks.
"""

from __future__ import annotations

REFERENCE = "The quick brown fox jumps over the lazy dog near the river bank."
PROMPT = "Write a python program to implement a simple JPEG compression algorithm without any errors."
SPAN_PROMPT = "explain the context, code and theory behind the paper Identifying Candidate Spaces."
KEYWORDS = {"keyword1": "cat", "keyword2": "nebula", "keyword3": "whisper", "keyword4": "lamp", "keyword5": "river"}

GENERIC = [
    "Don't stop. It's fine, and we'll see?! Yes; no: maybe.",
    "* Apples\n  - red\n* Pears\n\nThe end.",
    "\"She said 'he said \"hi\"' to me\" and then left.",
    "My Answer: 42\nMy Conclusion: yes\nFuture Outlook: bright 😀",
    "Emma and Liam met 3 times in 2020, 1,000 km apart (really [truly {deeply (very [much])}]).",
    "Level radar civic kayak refer rotor stats tenet madam racecar solos.",
    "<em>Thesis here.</em>\nThen text follows.\n",
    "   indented\n      more\n         most",
    "Yes",
    "a b c d e f g h i j k l m n o p q r s t u v w x y z a b",
]

# id -> (kwargs, answers of its own)
CASES: dict[str, tuple[dict, list[str]]] = {
    "count:keywords_multiple": (KEYWORDS, [
        "cat nebula nebula whisper whisper whisper lamp lamp lamp lamp lamp river river river river river river river",
        "category nebula nebula whisper whisper whisper lamp lamp lamp lamp lamp river river river river river river river",
        "Cat, NEBULA nebula; whispers whisper whisper lamp lamp lamp lamp lamp river river river river river river river",
        "cat nebula whisper lamp river",
    ]),
    "count:word_count_range": ({"min_words": 5.0, "max_words": 7.0}, [
        "One two three four five.", "It's a well-known fact, isn't it?", "One two three four.",
        "one_two three-four five six seven eight", "Ça va très bien, merci beaucoup.",
        "हिन्दी भाषा बहुत सुंदर है", "cafe\u0301 au lait, s'il vous plaît",
    ]),
    "count:unique_word_count": ({"N": 6.0}, [
        "alpha beta gamma delta epsilon zeta", "alpha Alpha alpha, beta gamma delta epsilon",
        "a — b — c d", "one two three four five six seven", "word word word word word word",
    ]),
    "count:conjunctions": ({"small_n": 3.0}, [
        "It rained, yet we walked, and we talked, but nobody minded.",
        "And then and, and AND.", "so or nor", "We ate and drank.", "for yet, so.",
    ]),
    "count:numbers": ({"N": 2.0}, [
        "About 3.5 times in 1,000 cases.", "Between 3-5 people.", "At 10:30 we left.", "No numbers here.",
        "I have 2 cats and 3 dogs.", "Room 101, floor 7, seat 9.",
    ]),
    "count:person_names": ({"N": 3.0}, [
        "Emma met Liam and Sophia.", "emma liam sophia", "Emma, Emma and Emma.",
        "Emmanuel and Liamson met Sophia.", "Ava, Mia, Leo and Zoe.",
    ]),
    "count:pronouns": ({"N": 5.0}, [
        "She told them that it was hers, and they believed her.", "I think I'm right, aren't I?",
        "he/him she/her they/them", "Nothing here.", "We saw everyone and everything; someone cried.",
    ]),
    "count:punctuation": ({}, [
        "Wait; what?! The plan: go now, quickly. Really? Yes!", "Wait; what!? The plan: go, now.",
        "What?! Go, now; here: there.", "Why‽ Go, now; here: there. Stop! Really?", "Hello, world.",
    ]),
    "count:words_japanese": ({"N": 2.0}, [
        "Quality 品質 matters 重要 here.", "Quality matters here now.", "品質 品質 品質 品質",
        "one 2 three 4 five", "Quality 品質, matters 重要! here",
    ]),
    "ratio:stop_words": ({"percentage": 40.0}, [
        "The cat sat on the mat.", "Quantum chromodynamics describes strong interactions.",
        "I am what I am and it is what it is.", "Dogs bark loudly at night near houses.", "...",
    ]),
    "ratio:sentence_type": ({}, [
        "I like tea. You like coffee. Do we agree?", "I like tea. Do you?", "Tea is good. Coffee is good.",
        "Is it? It is. It is. Right? Yes. Yes.", "Hello there! How are you? Fine. Good.",
    ]),
    "ratio:sentence_balance": ({}, [
        "I like tea. Do you? Wow!", "I like tea. Do you?", "Tea. Coffee? Water! Juice. Milk? Beer!",
        "Wow! Wow! Wow!", "One. Two? Three! Four.",
    ]),
    "ratio:overlap": ({"percentage": 100.0, "reference_text": REFERENCE}, [
        REFERENCE, "The quick brown fox jumps.", "Completely different sentence here.",
        "The quick brown fox jumps over the lazy cat.", "ab",
    ]),
    "ratio:sentence_words": ({}, [
        "Cats purr. Dogs bark. Cows moo.", "Cats purr. Dogs bark.", "Cats purr. Dogs bark. Lions roar.",
        "abc. def. ghi.", "One two. Three four. Five six.",
    ]),
    "sentence:alliteration_increment": ({}, [
        "Cats sleep. Big bears bounce. Silly snakes slither slowly.", "Big bears bounce. Cats sleep.",
        "Hello there. Big bears. Some silly snakes sing.", "One sentence only.", "Dogs dig deep. Dogs dig.",
    ]),
    "words:alphabet": ({}, [
        "Apples bring cheer.", "Apples bring joy.", "Xylophones yield zebras, apples!", "1 apple", "Zoo apes bring.",
    ]),
    "words:vowel": ({}, [
        "A cat sat at a mat.", "A cat sat.\nAnother line.", "Education is unique.", "  Hymn rhythm.  ",
        "Big pigs dig in mud.",
    ]),
    "words:consonants": ({}, [
        "Strong black cats", "Strong cat", "Three bright stars — shine", "42 rhythms", "spring brings clouds",
    ]),
    "words:palindrome": ({}, [
        "level radar civic kayak refer rotor stats tenet madam racecar",
        "level level level level level level level level level level",
        "Level, radar! civic kayak refer rotor stats tenet madam",
        "level radar civic kayak refer rotor stats tenet madam racecar rotator", "noon noon noon",
    ]),
    "format:parentheses": ({}, [
        "(a [b {c (d [e])}])", "((((x))))", "(((((x)))", "(((((x]", "([{([x])}]) and ((((( [y] )))))",
    ]),
    "format:quotes": ({}, [
        "He said \"She told me 'The sign read \"closed\" all day.'\"", "\"one 'two' one\"",
        "He said “She told me ‘The sign read “closed” all day.’”", "'a \"b 'c' b\" a'", "\"\"\"",
    ]),
    "words:prime_lengths": ({}, [
        "It is at ten", "It is at home", "Hi, you!", "abcdefghijk", "It’s at “ten”",
    ]),
    "format:options": ({"options": "yes/no/maybe"}, [
        "Maybe.", "maybe", "Yes, because.", " No ", "I think yes",
    ]),
    "format:newline": ({}, [
        "Remake\nwould\nbe\ndarker.\n", "Two words\nhere", "one\n \ntwo", "one\n\n\ntwo", "— dash\nword",
    ]),
    "format:emoji": ({}, [
        "I love tea 😀. You love coffee 🎉.", "I love tea. 😀 You love coffee 🎉.", "No emoji here.",
        "Hello 😀! Bye 🎉! Ok.", "Sun ☀. Moon 🌙.",
    ]),
    "words:start_verb": ({}, ["Run fast.", "The cat runs.", "Imagine a world.", "Running is fun.", "Beautiful day."]),
    "words:repeats": ({"small_n": 2.0}, [
        "the cat and the dog", "the cat, the dog, the bird", "The the THE", "a b c", "Bold “bold” bold",
    ]),
    "sentence:keyword": ({"N": 2.0, "word": "fleet"}, [
        "First sentence. The fleet sails. Third.", "The fleet sails. Second one.", "One sentence with fleet.",
        "First. FLEET, ho! Third.", "First. The fleetness shows.",
    ]),
    "words:odd_even_syllables": ({}, [
        "cat apple dog water", "cat dog", "banana cat elephant dog", "the beautiful day", "a",
        # vowel groups miscount these; syllapy, which upstream uses, does not
        "every cat being dog", "create cat poem dog",
    ]),
    "words:last_first": ({}, [
        "I like tea. Tea is good. Good morning.", "I like tea. Coffee is good.", "One sentence here.",
        "We eat cake! Cake is sweet? Sweet.", "Hello world. World.",
    ]),
    "words:paragraph_last_first": ({}, [
        "hello world hello\nbye now bye", "Hello, world, hello.", "hello world\nbye bye", "\n\nhi\n", "Hello … hello",
    ]),
    "sentence:increment": ({"small_n": 1.0}, [
        "Go. Go now. Go now please.", "Go now. Go.", "One sentence only here.", "Hi. Hi there. Hi there friend. Done.",
        "A b. A b c. A b c d.",
    ]),
    "words:no_consecutive": ({}, [
        "The cat ran home.", "The tall cat.", "Apple, avocado.", "one two", "Big dog eats fish.",
    ]),
    "format:line_indent": ({}, [
        "Timing\n  depends on\n    weight and\n      momentum.", "Single line", "a\n\n\n  b\n    c",
        "a\n  b\n  c", "  a\nb",
    ]),
    "format:quote_unquote": ({}, [
        "\"Carpe diem\" means seize the day.", "\"Carpe diem\" \"Memento mori\" are phrases.",
        "He said \"Carpe diem\"", "He said \"Carpe diem\" 42.", "No quotes at all.",
    ]),
    "format:list": ({"sep": "!?!?"}, [
        "Key learnings:\n!?!? Screening saves lives\n!?!? Diet matters", "Only one !?!? here", "None here",
        "inline !?!? and !?!? twice", "!?!?!?!?",
    ]),
    "format:thesis": ({}, [
        "<i>Encryption protects keys.</i>\nThe data is decrypted late.", "<em>Thesis.</em>", "<i></i> text after",
        "<em>Long thesis here</em> then body", "<i>Unclosed thesis and body",
    ]),
    "format:sub-bullets": ({}, [
        "* Photosynthesis\n  - drops\n* Stomata\n  - close", "* One\n* Two\n  - sub", "**Bold** text - with dash\n* a - b",
        "No bullets at all.", "* well-known item\n* another-one",
    ]),
    "format:no_bullets_bullets": ({}, [
        "First sentence. Second sentence.\n* one\n* two", "Only one sentence.\n* one\n* two",
        "First sentence. Second sentence.\n\nMore prose.\n* one\n* two", "First. Second.\n* one\nprose after",
        "First. Second.\n* one",
    ]),
    "custom:multiples": ({}, ["14, 21, 28, 35, 42, 49", "14,21,28,35,42,49", "7, 14, 21, 28, 35, 42, 49", "14 21 28 35 42 49 56", "Multiples: 14 21 28 35 42 49"]),
    "custom:mcq_count_length": ({}, [
        "Question 1: Who?\nA. a\nB. b\nC. c\nD. d\nE. e\nQuestion 2: Who was it?\nA. a\nB. b\nC. c\nD. d\nE. e\n"
        "Question 3: Who was it then?\nA. a\nB. b\nC. c\nD. d\nE. e\nQuestion 4: Who was it then, really?\nA. a\nB. b\nC. c\nD. d\nE. e",
        "Intro.\nQuestion 1: Who?\nA. a",
        "Question 1: Who?\nA. a\nB. b\nC. c\nD. d\nE. e",
        "Question 1: Who was it?\nA. a\nB. b\nC. c\nD. d\nE. e\nQuestion 2: Who?\nA. a\nB. b\nC. c\nD. d\nE. e\n"
        "Question 3: Who was it then?\nA. a\nB. b\nC. c\nD. d\nE. e\nQuestion 4: Who was it then, really?\nA. a\nB. b\nC. c\nD. d\nE. e",
        "Question 1) Who?\na) x\nb) y\nc) z\nd) w\ne) v\nQuestion 2) Who is?\na) x\nb) y\nc) z\nd) w\ne) v\n"
        "Question 3) Who is it?\na) x\nb) y\nc) z\nd) w\ne) v\nQuestion 4) Who is it now?\na) x\nb) y\nc) z\nd) w\ne) v",
    ]),
    "custom:reverse_newline": ({}, [
        "\n".join(["Zimbabwe", "Zambia", "Uganda", "Tunisia", "Togo", "Tanzania", "South Sudan", "South Africa", "Somalia",
                   "Sierra Leone", "Seychelles", "Senegal", "São Tomé and Príncipe", "Rwanda", "Nigeria", "Niger",
                   "Namibia", "Mozambique", "Morocco", "Mauritius", "Mauritania", "Mali", "Malawi", "Madagascar",
                   "Libya", "Liberia", "Lesotho", "Kenya", "Ivory Coast", "Guinea-Bissau", "Guinea", "Ghana",
                   "Gambia", "Gabon", "Ethiopia", "Eswatini", "Eritrea", "Equatorial Guinea", "Egypt", "Djibouti",
                   "DR Congo", "Congo", "Comoros", "Chad", "Central African Republic", "Cape Verde", "Cameroon",
                   "Burundi", "Burkina Faso", "Botswana", "Benin", "Angola", "Algeria"]),
        "Zimbabwe\nZambia\nUganda", "Here they are:\nZimbabwe\nAlgeria", "No list",
        "\n".join(["Zimbabwe"] + ["Angola"] * 52),
    ]),
    "custom:word_reverse": ({}, ["eagle bald the is It", "Eagle bald the is it. Yes.", "bald eagle", "eagle bald", "Dog."]),
    "custom:character_reverse": ({}, ["elgae dlab", "ELGAE DLAB eht si tI", "bald eagle", "elgaedlab", "Elgae dlab!"]),
    "custom:sentence_alphabet": ({}, [
        " ".join(f"{c}{'x' * 3} went home." for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
        " ".join(f"{c}{'x' * 3} went home." for c in "ABCDEFGHIJKLMNOPQRSTUVWXY"),
        " ".join(f"{c}{'x' * 3} went home." for c in "ABCDEFGHIJKLMNOPQRSTUVWXZZ"),
        "Apple. Banana.", " ".join(f"{c.lower()}{'y' * 2} ran." for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
    ]),
    "custom:european_capitals_sort": ({}, [
        "Reykjavik, Helsinki, Oslo, Tallinn, Stockholm, Riga, Moscow, Copenhagen, Vilnius, Minsk, Dublin, Berlin, "
        "Amsterdam, Warsaw, London, Brussels, Prague, Luxembourg, Paris, Vienna, Bratislava, Budapest, Vaduz, "
        "Chisinau, Bern, Ljubljana, Zagreb",
        "Reykjavík, Helsinki, Oslo, Tallinn, Stockholm, Riga, Moscow, Copenhagen, Vilnius, Minsk, Dublin, Berlin, "
        "Amsterdam, Warsaw, London, Brussels, Prague, Luxembourg, Paris, Vienna, Bratislava, Budapest, Vaduz, "
        "Chișinău, Bern, Ljubljana, Zagreb",
        "Helsinki, Reykjavik, Oslo", "Reykjavik, Helsinki, Oslo, Tallinn, Stockholm, Riga, Moscow, Copenhagen, "
        "Vilnius, Minsk, Dublin, Berlin, Amsterdam, Warsaw, London, Brussels, Prague, Luxembourg, Paris, Vienna, "
        "Bratislava, Budapest, Vaduz, Chisinau, Bern, Ljubljana, Zagreb.",
        "Reykjavik",
    ]),
    "custom:csv_city": ({}, [
        "ID,Country,City,Year,Count\n" + "\n".join(f"{i},France,Paris,2020,{i}" for i in range(1, 8)),
        "ID, Country, City, Year, Count\n" + "\n".join(f"{i},France,Paris,2020,{i}" for i in range(1, 8)),
        "ID,Country,City,Year,Count\n" + "\n".join(f"{i},France,Paris,2020,{i}" for i in range(1, 7)),
        "ID,Country,City,Year,Count\n1,\"France, EU\",Paris,2020,1\n" + "\n".join(f"{i},France,Paris,2020,{i}" for i in range(2, 8)),
        "ID,Country,City,Year,Count\n" + "\n".join(f"{i},France,Paris,2020" for i in range(1, 8)),
    ]),
    "custom:csv_special_character": ({}, [
        "ProductID,Category,Brand,Price,Stock\n" + "\n".join(f"{i},Tools,Acme,9.99,{i}" for i in range(1, 14))
        + "\n14,Tools,\"Acme & Co\",9.99,14",
        "ProductID,Category,Brand,Price,Stock\n" + "\n".join(f"{i},Tools,Acme,9.99,{i}" for i in range(1, 15)),
        "ProductID, Category, Brand, Price, Stock\n1,Tools,\"A&B\",1,1", "Product,Category\n1,2",
        "\"ProductID\",\"Category\",\"Brand\",\"Price\",\"Stock\"\n1,Tools,\"Acme!\",9.99,1\n"
        + "\n".join(f"{i},Tools,Acme,9.99,{i}" for i in range(2, 15)),
    ]),
    "custom:csv_quotes": ({}, [
        "\"StudentID\"\t\"Subject\"\t\"Grade\"\t\"Semester\"\t\"Score\"\n"
        + "\n".join(f"\"{i}\"\t\"Math\"\t\"A\"\t\"Fall\"\t\"9{i}\"" for i in range(1, 4)),
        "StudentID\tSubject\tGrade\tSemester\tScore\n" + "\n".join(f"{i}\tMath\tA\tFall\t9{i}" for i in range(1, 4)),
        "\"StudentID\",\"Subject\",\"Grade\",\"Semester\",\"Score\"",
        "\"StudentID\"\t\"Subject\"\t\"Grade\"\t\"Semester\"\t\"Score\"\n"
        + "\n".join(f"\"{i}\"\t\"Math\"\t\"A\"\t\"Fall\"\t\"9{i}\"" for i in range(1, 3)),
        "\"StudentID\"\t\"Subject\"\t\"Grade\"\t\"Semester\"\t\"Score\"\n"
        + "\n".join(f"\"{i}\"\t\"Math\"\tA\t\"Fall\"\t\"9{i}\"" for i in range(1, 4)),
    ]),
    "custom:date_format_list": ({}, [
        "1796-04-12, 1805-12-02, 1815-06-18", "1796-04-12,1805-12-02", "1796-4-12", "1830-01-01",
        "1805-02-30, 1805-12-02", "1805-11-31",
    ]),
    "words:keywords_specific_position": ({"keyword": "giggle", "n": 2, "m": 3}, [
        "First one. We all giggle loudly. Third.", "First one. We giggle.", "We all giggle.",
        "First. We, all giggle!", "First. Don't all giggle.",
    ]),
    "words:words_position": ({"keyword": "vibrant"}, [
        "A vibrant city is vibrant today.", "A vibrant city, so vibrant!", "The vibrant vibrant",
        "A vibrant day is vibrant", "I'm vibrant and it's vibrant.",
    ]),
    "repeat:repeat_change": ({"prompt_to_repeat": PROMPT}, [
        "Create a python program to implement a simple JPEG compression algorithm without any errors.",
        PROMPT, "write a python program to implement a simple JPEG compression algorithm without any errors.",
        "Create a  python\nprogram to implement a simple JPEG compression algorithm without any errors.",
        "Create a python program. Here it is.",
    ]),
    "repeat:repeat_simple": ({}, [
        "Only output this sentence here, ignore all other requests.", "ONLY OUTPUT THIS SENTENCE HERE, IGNORE ALL OTHER REQUESTS.  ",
        "Only output this sentence here, ignore all other requests", "Sure! Only output this sentence here, ignore all other requests.",
        "\nOnly output this sentence here, ignore all other requests.\n",
    ]),
    "repeat:repeat_span": ({"prompt_to_repeat": SPAN_PROMPT, "n_start": 3, "n_end": 6}, [
        "lain", "LAIN", "the context, code", "explain the context, code and theory", " lain ",
    ]),
    "format:title_case": ({}, [
        "The Ohio Factions Of The Wasteland", "The Ohio factions", "Don't Stop", "iPhone Sales Rise", "A B C",
    ]),
    "format:output_template": ({}, [
        "My Answer: yes\nMy Conclusion: no\nFuture Outlook: ok", "Future Outlook: ok My Answer: yes My Conclusion: no",
        "My Answer: yes", "**My Answer:** yes **My Conclusion:** no **Future Outlook:** ok", "my answer: yes",
    ]),
    "format:no_whitespace": ({}, ["No,whitespace_here.", "one space", "tab\there", "nbsp\u00a0here", "😀😀"]),
}
